import { formatDuration } from './command-result.ts';

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

/** Where a wait stood when it ended: done, or the last answer (or error) before the time was up. */
export interface PollOutcome<T> {
  done: boolean;
  last: T | undefined;
  lastError: unknown;
  attempts: number;
  waitedMs: number;
  /** Why it stopped early (`giveUp`), when it did. */
  gaveUp?: string;
}

/**
 * Asks `attempt` until `done(answer)` holds, `giveUp` gives a reason, or the time is up. Never throws:
 * a wait that has its own verdict for "not yet" (a busy engine, a guest still at work) reads the outcome.
 */
export async function pollAnswers<T>(
  attempt: () => Promise<T>,
  done: (answer: T) => boolean,
  options: Omit<PollOptions, 'what'>,
): Promise<PollOutcome<T>> {
  const t0 = performance.now();
  const outcome: PollOutcome<T> = {
    done: false,
    last: undefined,
    lastError: undefined,
    attempts: 0,
    waitedMs: 0,
  };
  for (;;) {
    outcome.attempts++;
    try {
      outcome.last = await attempt();
      outcome.done = done(outcome.last);
    } catch (err) {
      outcome.lastError = err;
    }
    outcome.waitedMs = performance.now() - t0;
    if (outcome.done) return outcome;
    outcome.gaveUp = await options.giveUp?.();
    if (outcome.gaveUp || outcome.waitedMs > options.timeoutMs) return outcome;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
  }
}

/** Calls `attempt` until it returns a value (not undefined) or the time is up; the last error is kept. */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const o = await pollAnswers(attempt, (v) => v !== undefined, options);
  if (o.done) return o.last as T;
  if (o.gaveUp)
    throw new PollTimeoutError(
      `gave up waiting for ${options.what} after ${formatDuration(o.waitedMs)}: ${o.gaveUp}`,
      { cause: o.lastError },
    );
  const detail = o.lastError instanceof Error ? `\nlast attempt: ${o.lastError.message}` : '';
  throw new PollTimeoutError(
    `timed out after ${formatDuration(options.timeoutMs)} waiting for ${options.what}${detail}`,
    { cause: o.lastError },
  );
}
