import { formatDuration } from '../harness/command-result.ts';

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What we wait for, for the failure message: "buildkitd to answer buildctl debug workers". */
  what: string;
  /** Stop early (it will never succeed), with the reason. */
  giveUp?: () => Promise<string | undefined>;
}

export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
}

/** Calls `attempt` until it returns a value (not undefined) or the time is up; the last error is kept. */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const t0 = performance.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    const reason = await options.giveUp?.();
    if (reason)
      throw new PollTimeoutError(
        `gave up waiting for ${options.what} after ${formatDuration(performance.now() - t0)}: ${reason}`,
        { cause: last },
      );
    if (performance.now() - t0 > options.timeoutMs) {
      const detail = last instanceof Error ? `\nlast attempt: ${last.message}` : '';
      throw new PollTimeoutError(
        `timed out after ${formatDuration(options.timeoutMs)} waiting for ${options.what}${detail}`,
        { cause: last },
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
  }
}
