/**
 * What a Buildx test list runs on: a BuildKit worker reached through a named Buildx builder (Buildx's
 * `tests/workers`: one list, many builders). `createBuilder` runs `docker buildx create ... --bootstrap`
 * with the builder registered for removal first, and fails with the daemon's log when it does not come up.
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import { CommandError, formatDuration } from '../../helpers/command-result.ts';
import { tailLines } from '../../helpers/tail-buffer.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import type { BuildkitWorker } from './worker.ts';

export interface BuildxBuilder extends BuildkitWorker {
  /** The Buildx builder's name. */
  readonly builder: string;
  /** The Buildx driver, as `buildx inspect` names it. */
  readonly driver: 'docker-container' | 'remote';
  /** `docker buildx <args> --builder <name>` on the target. */
  buildx(args: string[], options?: ExecOptions): Promise<CommandResult>;
}

/** `docker buildx <args> --builder <builder>` on `target`. */
export function buildxOn(
  target: Target,
  builder: string,
  args: string[],
  options?: ExecOptions,
): Promise<CommandResult> {
  return target.exec(['docker', 'buildx', ...args, '--builder', builder], options);
}

/**
 * `docker buildx create --name <name> <args>`, then `docker buildx inspect --bootstrap`. The builder is
 * registered for removal before it exists; a failed bootstrap throws with `logs()` (the daemon's) attached.
 *
 * Buildx (0.13, Debian trixie's) gives a remote builder's first connection a fixed 20 s: on an
 * emulated or loaded target, a daemon that is up (it answered before) can take longer to list its
 * workers, and the bootstrap ends in `DeadlineExceeded`. A slow answer is not a dead one: the
 * bootstrap is asked again (`buildx inspect --bootstrap`) until BOOTSTRAP_DEADLINE_MS, and only a
 * deadline keeps it waiting; any other error, or the deadline passed, fails with the evidence.
 */
export async function createBuilder(
  target: Target,
  resources: ResourceTracker,
  name: string,
  args: string[],
  logs: () => Promise<string>,
): Promise<void> {
  resources.builder(name);
  // Created first, bootstrapped after: a failed `create --bootstrap` removes the builder it made.
  await target.exec(['docker', 'buildx', 'create', '--name', name, ...args], { timeoutMs: 5 * 60_000 });
  const t0 = performance.now();
  const bootstrap = () =>
    target.exec(['docker', 'buildx', 'inspect', '--bootstrap', name], {
      reject: false,
      timeoutMs: 10 * 60_000,
    });
  let attempt = await bootstrap();
  const slowOnly = (r: CommandResult) => r.failed && DEADLINE.test(r.stderr);
  let tries = 1;
  while (slowOnly(attempt) && performance.now() - t0 < BOOTSTRAP_DEADLINE_MS) {
    tries++;
    attempt = await bootstrap();
  }
  if (attempt.failed) {
    const log = await logs().catch(() => '(no daemon log)');
    throw new CommandError(attempt, {
      context: `docker buildx inspect --bootstrap (${tries} attempt(s) in ${formatDuration(performance.now() - t0)}; a deadline is asked again for up to ${formatDuration(BOOTSTRAP_DEADLINE_MS)}); the daemon's log (tail):\n${tailLines(log, 30)}`,
    });
  }
}

/** How long a builder whose bootstrap only hits Buildx's own 20 s deadline is asked again. */
export const BOOTSTRAP_DEADLINE_MS = 5 * 60_000;
const DEADLINE = /DeadlineExceeded|context deadline exceeded/;
