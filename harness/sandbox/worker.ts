/**
 * A BuildKit daemon a test body gets, whatever started it (BuildKit's integration sandbox): its
 * address, `buildctl` against it with command evidence, its logs (attached to a failure only), what it
 * supports, and disposal (idempotent, registered for cleanup when it was created).
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import { tailLines } from '../../helpers/tail-buffer.ts';
import { withFailureEvidence } from '../docker/failure-evidence.ts';
import type { ExecOptions } from '../target/target.ts';
import type { Feature } from './features.ts';

export interface BuildkitWorker extends AsyncDisposable {
  /** As test names read it: `worker=<name>`. */
  readonly name: string;
  /** How it runs, for the report. */
  readonly how: string;
  /** The address buildctl on the target uses: unix://, tcp:// or docker-container://. */
  readonly address: string;
  /** The container on the target its daemon runs in, when it runs in one. */
  readonly container?: string;
  /** `buildctl --addr <address> ...args` on the target. */
  buildctl(args: string[], options?: ExecOptions): Promise<CommandResult>;
  /** Waits once for `buildctl debug workers`; returns its JSON. A dead daemon fails at once. */
  ready(timeoutMs?: number): Promise<string>;
  logs(): Promise<string>;
  /** What its runtime says of it (a container's docker inspect), for a failure; optional. */
  state?(): Promise<string>;
  alive(): Promise<boolean>;
  /** Why this worker cannot do `feature` here, or undefined when it can. */
  supports(feature: Feature): string | undefined;
  stop(): Promise<void>;
}

/** Runs `fn`; when it fails, the worker's log tail is appended to the failure (quiet on success). */
export async function withWorkerLogs<T>(
  worker: BuildkitWorker | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (!worker) return fn();
  return withFailureEvidence(fn, async () => {
    const logs = await worker.logs().catch((e: unknown) => `(could not read the daemon log: ${e})`);
    const state = worker.state
      ? `\n\ndocker inspect (state, entrypoint, cmd, init):\n${await worker.state().catch((e: unknown) => `(${e})`)}`
      : '';
    return `buildkitd log (worker=${worker.name}: ${worker.how}, tail):\n${tailLines(logs, 40)}${state}`;
  });
}
