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
