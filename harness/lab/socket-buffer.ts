/**
 * A connected socket whose incoming text is buffered and waited on until a reply is complete: what the
 * lab's two qemu clients (the monitor, hmp.ts, and the gdbstub, gdb-timers.ts) have in common.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';

export class SocketBuffer {
  private text = '';
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.waiter?.();
    });
  }

  static async connect(options: NetConnectOpts, encoding: BufferEncoding): Promise<SocketBuffer> {
    const socket = connect(options);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setEncoding(encoding);
    return new SocketBuffer(socket);
  }

  /** Forgets what was read so far, then sends `data`. */
  send(data: string): void {
    this.text = '';
    this.socket.write(data);
  }

  /** Sends without forgetting what was read (an acknowledgement). */
  write(data: string): void {
    this.socket.write(data);
  }

  /**
   * Waits until `complete` finds a whole reply in what was read, and returns it (what was read is then
   * forgotten); throws `timeoutMessage` after `timeoutMs`.
   */
  async until<T>(
    complete: (text: string) => T | undefined,
    timeoutMs: number,
    timeoutMessage: string,
    pollMs = 200,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = complete(this.text);
      if (reply !== undefined) {
        this.text = '';
        return reply;
      }
      if (Date.now() > deadline) throw new Error(timeoutMessage);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, pollMs);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
