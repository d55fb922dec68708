/**
 * Work a command starts and does not wait for (a lab's other base images, the amd64 binaries built
 * ahead of need): the CLI waits for all of it before the process exits, so that the next run has it.
 * The registry lives apart from the lab and the run so that a command that never loads them (the
 * automation's `track`, `close-issues`) does not pay for loading them.
 */
const WORK = new Set<Promise<unknown>>();

/** Registers `work` (it must never reject) to be waited for before the CLI exits; returns it. */
export function untilExit<T>(work: Promise<T>): Promise<T> {
  WORK.add(work);
  return work;
}

/** Waits for every registered piece of work, also work registered while waiting. */
export async function backgroundWorkSettled(): Promise<void> {
  let seen = 0;
  while (WORK.size > seen) {
    seen = WORK.size;
    await Promise.all(WORK);
  }
}
