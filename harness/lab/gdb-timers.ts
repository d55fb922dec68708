/**
 * qemu before 10.2 saves each hart's mtimecmp but not the timer it armed for it (qemu-devel, TANG
 * Tiancheng, "hw/intc: Save timers array in RISC-V mtimer VMState", September 2025, not backported):
 * after a load no hart gets its next timer interrupt, and a hart waiting for one locks up ("watchdog:
 * hard LOCKUP on cpu 0", seen here in 3 of 5 resumes). Before the loaded VM runs, each hart's mtimecmp
 * is written back with its own value through qemu's gdbstub in physical-memory mode: the ACLINT arms the
 * timer again for exactly the saved deadline (or raises it at once when that has passed).
 */
import { createServer } from 'node:net';
import type { Hmp } from './hmp.ts';
import { SocketBuffer } from './socket-buffer.ts';

/** The virt machine's ACLINT mtimer: mtimecmp of hart N at MTIMECMP + 8 N, mtime at MTIME. */
const MTIMECMP = 0x2004000;
const MTIME = 0x200bff8;

const checksum = (s: string) =>
  ([...s].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 256).toString(16).padStart(2, '0');

/** A GDB remote-protocol client for the few packets this needs, one at a time. */
class GdbClient {
  private constructor(private readonly io: SocketBuffer) {}

  static async open(port: number): Promise<GdbClient> {
    return new GdbClient(await SocketBuffer.connect({ port, host: '127.0.0.1' }, 'latin1'));
  }

  /** Sends one packet and returns the reply's payload (acknowledged). */
  async send(payload: string, timeoutMs = 10_000): Promise<string> {
    this.io.send(`$${payload}#${checksum(payload)}`);
    const reply = await this.io.until(
      (text) => /\$([^#]*)#[0-9a-f]{2}/.exec(text)?.[1],
      timeoutMs,
      `gdbstub: no reply to ${payload} in ${timeoutMs} ms`,
      100,
    );
    this.io.write('+');
    return reply;
  }

  close(): void {
    this.io.close();
  }
}

const hex = (n: number) => n.toString(16);

/** A free TCP port on the loopback interface, for the gdbstub's short life. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Re-arms every hart's timer of a loaded, not yet running VM. Returns each hart's deadline relative to
 * mtime (ticks; negative: already due), for the log.
 */
export async function rearmTimers(hmp: Hmp, harts: number): Promise<number[]> {
  const port = await freePort();
  const started = await hmp.run(`gdbserver tcp:127.0.0.1:${port}`);
  if (/error|fail|could not/i.test(started)) throw new Error(`qemu gdbserver: ${started.trim()}`);
  const gdb = await GdbClient.open(port);
  try {
    const ok = await gdb.send('Qqemu.PhyMemMode:1');
    if (ok !== 'OK') throw new Error(`gdbstub: physical-memory mode refused (${ok || 'empty reply'})`);
    const read64 = async (addr: number) => {
      const r = await gdb.send(`m${hex(addr)},8`);
      if (!/^[0-9a-f]{16}$/.test(r)) throw new Error(`gdbstub: reading ${hex(addr)} gave '${r}'`);
      return { raw: r, value: Buffer.from(r, 'hex').readBigUInt64LE() };
    };
    const mtime = (await read64(MTIME)).value;
    const deadlines: number[] = [];
    for (let hart = 0; hart < harts; hart++) {
      const addr = MTIMECMP + 8 * hart;
      const cmp = await read64(addr);
      const wrote = await gdb.send(`M${hex(addr)},8:${cmp.raw}`);
      if (wrote !== 'OK') throw new Error(`gdbstub: writing mtimecmp of hart ${hart} gave '${wrote}'`);
      deadlines.push(Number(cmp.value - mtime));
    }
    await gdb.send('Qqemu.PhyMemMode:0');
    return deadlines;
  } finally {
    gdb.close();
    await hmp.run('gdbserver none');
  }
}
