/**
 * What a Buildx test list runs on: a BuildKit worker reached through a named Buildx builder (Buildx's
 * `tests/workers`: one list, many builders). `createBuilder` runs `docker buildx create ... --bootstrap`
 * with the builder registered for removal first, and fails with the daemon's log when it does not come up.
 */
import type { CommandResult } from '../command-result.ts';
import { CommandError } from '../command-result.ts';
import type { ResourceTracker } from '../resources.ts';
import { tailLines } from '../tail-buffer.ts';
import type { ExecOptions, Target } from '../target.ts';
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
 * `docker buildx create --name <name> <args> --bootstrap`. The builder is registered for removal
 * before it exists; a failed bootstrap throws with `logs()` (the daemon's) attached.
 */
export async function createBuilder(
  target: Target,
  resources: ResourceTracker,
  name: string,
  args: string[],
  logs: () => Promise<string>,
): Promise<void> {
  resources.builder(name);
  const create = await target.exec(['docker', 'buildx', 'create', '--name', name, ...args, '--bootstrap'], {
    reject: false,
    timeoutMs: 10 * 60_000,
  });
  if (create.failed) {
    const log = await logs().catch(() => '(no daemon log)');
    throw new CommandError(create, {
      context: `docker buildx create --bootstrap; the daemon's log (tail):\n${tailLines(log, 30)}`,
    });
  }
}
