import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentRunId, installInterruptCleanup, NAME_PREFIX, resourceName } from './resources.ts';

/**
 * Temp dirs on the machine the suite runs on (the target's belong to a ResourceTracker), named
 * `bka-<run id>-<kind>-XXXXXX` like the target's so the janitor finds a killed run's. Each is removed
 * when this process exits, also when it exits on SIGINT/SIGTERM (vitest stops its workers with SIGTERM)
 * through the trackers' interrupt handler, which ends in process.exit. Go's module cache marks its files
 * read-only, so a failed removal is retried after making the tree writable.
 */
const made = new Set<string>();
let hooked = false;

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    spawnSync('chmod', ['-R', 'u+w', dir]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  }
}

export function removeLocalTempDirs(): void {
  for (const dir of [...made].reverse()) {
    removeDir(dir);
    made.delete(dir);
  }
}

/** The start of a name after `bka-` when it holds a run id as newRunId makes it: `20261123-083710-1a2b3c-`. */
const RUN_ID_PREFIX = /^\d{8}-\d{6}-[0-9a-f]{6}-/;

/**
 * The janitor's local half: removes this machine's temp dirs of one run (or of every run), which a
 * killed run (SIGKILL, a lost machine) could not remove itself. Returns what it removed.
 */
export function removeLeftLocalTempDirs(runId?: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(`${NAME_PREFIX}-`)) continue;
    const rest = name.slice(NAME_PREFIX.length + 1);
    const matches = runId ? rest.startsWith(`${runId}-`) : RUN_ID_PREFIX.test(rest);
    if (!matches) continue;
    const dir = join(tmpdir(), name);
    removeDir(dir);
    made.delete(dir);
    removed.push(`local temp dir ${dir}`);
  }
  return removed;
}

export async function localTempDir(prefix: string, runId = currentRunId()): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${resourceName(prefix, runId)}-`));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeLocalTempDirs);
    installInterruptCleanup();
  }
  return dir;
}
