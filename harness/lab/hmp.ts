/**
 * qemu's human monitor over its unix socket (`-monitor unix:PATH,server=on,wait=off`): one command at a
 * time, its output read up to the next `(qemu) ` prompt. Used to stop the VM, save its state and resume.
 */
import { connect, type Socket } from 'node:net';

const PROMPT = '(qemu) ';

export class Hmp {
  private buffer = '';
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
  }

  static async open(path: string, timeoutMs = 10_000): Promise<Hmp> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const hmp = new Hmp(socket);
    await hmp.untilPrompt(timeoutMs, 'the monitor greeting');
    return hmp;
  }

  /** Runs one command; returns what it printed (the echo and the prompt left out). */
  async run(command: string, timeoutMs = 60_000): Promise<string> {
    this.buffer = '';
    this.socket.write(`${command}\n`);
    const out = await this.untilPrompt(timeoutMs, command);
    // The monitor echoes the command line (with terminal escapes) before its output.
    return out
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .split(/\r?\n/)
      .filter((l) => l.trim() && !l.includes(command))
      .join('\n');
  }

  private async untilPrompt(timeoutMs: number, what: string): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.buffer.endsWith(PROMPT)) {
      if (Date.now() > deadline) throw new Error(`qemu monitor: no prompt after ${what} in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
    }
    const out = this.buffer.slice(0, -PROMPT.length);
    this.buffer = '';
    return out;
  }

  /** Sends a command without waiting for a prompt (`quit` ends the monitor with qemu). */
  send(command: string): void {
    this.socket.write(`${command}\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}
