import type { ChildProcess } from 'node:child_process';

/**
 * Every child process the harness starts runs in its own process group (detached), is registered here,
 * and is killed as a whole tree on timeout, cancellation, or when the suite is interrupted.
 */
const live = new Set<number>();

export function trackProcessGroup(child: ChildProcess): () => void {
  const pid = child.pid;
  if (pid === undefined) return () => {};
  live.add(pid);
  return () => live.delete(pid);
}

export function killProcessGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** SIGTERM the tree, then SIGKILL what is left after `graceMs`. */
export function killTree(pid: number, graceMs = 3000): void {
  if (!killProcessGroup(pid, 'SIGTERM')) return;
  const timer = setTimeout(() => killProcessGroup(pid, 'SIGKILL'), graceMs);
  timer.unref();
}

export function killAllTracked(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of live) killProcessGroup(pid, signal);
  live.clear();
}

/**
 * argv that runs `argv` at the lowest CPU weight: spawn it `detached` (a session, so a scheduling
 * autogroup, of its own), whose autogroup is set to nice 19, and nice 19 within it. With autogroups on
 * (Debian's default) nice alone does not yield to a process of another session, such as the lab's qemu.
 */
export function lowestPriority(argv: readonly string[]): [string, string[]] {
  return ['sh', ['-c', 'echo 19 > /proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"', 'sh', ...argv]];
}
