/** A lock file holding the owner's pid: one `lab up` at a time per cache; a dead owner's lock is taken over. */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { alive, sleep } from './processes.ts';

export async function acquireLock(file: string, timeoutMs = 40 * 60_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      return async () => {
        await unlink(file).catch(() => {});
      };
    } catch {
      const holder = Number(await readFile(file, 'utf8').catch(() => '0'));
      if (!alive(holder) || holder === process.pid) {
        await unlink(file).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lab: another process (pid ${holder}) holds ${file}`);
      await sleep(2000);
    }
  }
}
