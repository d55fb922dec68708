import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installInterruptCleanup } from './resources.ts';

/**
 * Temp dirs on the machine the suite runs on (not the target: those belong to a ResourceTracker).
 * Each is removed when this process exits, also when it exits on SIGINT/SIGTERM (vitest stops its
 * workers with SIGTERM) through the trackers' interrupt handler, which ends in process.exit. Go's module cache marks its files read-only, so a
 * failed removal is retried after making the tree writable.
 */
const made = new Set<string>();
let hooked = false;

export function removeLocalTempDirs(): void {
  for (const dir of [...made].reverse()) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      spawnSync('chmod', ['-R', 'u+w', dir]);
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    }
    made.delete(dir);
  }
}

export async function localTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `bka-${prefix}-`));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeLocalTempDirs);
    installInterruptCleanup();
  }
  return dir;
}
