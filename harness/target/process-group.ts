import type { Target } from './target.ts';

/** SIGTERM to a process group on the target, SIGKILL if it is still there after `graceS` seconds. */
export function stopProcessGroup(target: Target, pgid: number, graceS = 5): Promise<unknown> {
  return target.exec(
    [
      'sh',
      '-c',
      'kill -TERM "-$1" 2>/dev/null; i=0; while [ $i -lt "$2" ]; do kill -0 "-$1" 2>/dev/null || exit 0; sleep 0.5; i=$((i+1)); done; kill -KILL "-$1" 2>/dev/null; true',
      'sh',
      String(pgid),
      String(graceS * 2),
    ],
    { reject: false, timeoutMs: (graceS + 25) * 1000 },
  );
}

/**
 * Whether a process group is alive on the target, asked of the shell's own `kill` builtin: run directly
 * (a local target runs argv without a shell), procps' /usr/bin/kill reads `-0 -PGID` wrongly (1 for a
 * live group, 0 for none at all).
 */
export async function processGroupAlive(target: Target, pgid: number): Promise<boolean> {
  const r = await target.exec(['sh', '-c', 'kill -0 "-$1"', 'sh', String(pgid)], { reject: false });
  return !r.failed;
}
