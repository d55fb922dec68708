/**
 * qemu's human monitor over its unix socket (`-monitor unix:PATH,server=on,wait=off`): one command at a
 * time, its output read up to the next `(qemu) ` prompt. Used to stop the VM, save its state and resume.
 */
import { SocketBuffer } from './socket-buffer.ts';

const PROMPT = '(qemu) ';

export class Hmp {
  private constructor(private readonly io: SocketBuffer) {}

  static async open(path: string, timeoutMs = 10_000): Promise<Hmp> {
    const hmp = new Hmp(await SocketBuffer.connect({ path }, 'utf8'));
    await hmp.untilPrompt(timeoutMs, 'the monitor greeting');
    return hmp;
  }

  /** Runs one command; returns what it printed (the echo and the prompt left out). */
  async run(command: string, timeoutMs = 60_000): Promise<string> {
    this.io.send(`${command}\n`);
    const out = await this.untilPrompt(timeoutMs, command);
    // The monitor echoes the command line (with terminal escapes) before its output.
    return out
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .split(/\r?\n/)
      .filter((l) => l.trim() && !l.includes(command))
      .join('\n');
  }

  private untilPrompt(timeoutMs: number, what: string): Promise<string> {
    return this.io.until(
      (text) => (text.endsWith(PROMPT) ? text.slice(0, -PROMPT.length) : undefined),
      timeoutMs,
      `qemu monitor: no prompt after ${what} in ${timeoutMs} ms`,
    );
  }

  /** Sends a command without waiting for a prompt (`quit` ends the monitor with qemu). */
  send(command: string): void {
    this.io.write(`${command}\n`);
  }

  close(): void {
    this.io.close();
  }
}
