/**
 * What every worker that is one buildkitd on the target shares: buildctl from phase 1's binaries with
 * its address, readiness waited for once (and failing at once when the daemon is gone), idempotent stop.
 */

import { type CommandResult, formatEvidence } from '../../helpers/command-result.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { tailLines } from '../../helpers/tail-buffer.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import type { Feature } from './features.ts';
import type { BuildkitWorker } from './worker.ts';

export abstract class DaemonWorker implements BuildkitWorker {
  abstract readonly name: string;
  abstract readonly how: string;
  abstract readonly address: string;
  /** The container on the target its daemon runs in, when it runs in one. */
  readonly container?: string;
  private readiness: Promise<string> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    protected readonly target: Target,
    /** buildctl on the target (phase 1's). */
    protected readonly buildctlPath: string,
    private readonly unsupported: Partial<Record<Feature, string>> = {},
  ) {}

  buildctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return this.target.exec([this.buildctlPath, '--addr', this.address, ...args], options);
  }

  ready(timeoutMs = 180_000): Promise<string> {
    // 126/127: buildctl itself cannot run (missing, not executable); waiting would not bring it.
    let unrunnable: CommandResult | undefined;
    this.readiness ??= pollUntil(
      async () => {
        const r = await this.buildctl(['debug', 'workers', '--format', '{{json .}}'], {
          reject: false,
          timeoutMs: 30_000,
        });
        if (r.exitCode === 126 || r.exitCode === 127) unrunnable = r;
        return r.failed ? undefined : r.stdout;
      },
      {
        timeoutMs,
        intervalMs: 1000,
        what: `buildkitd (${this.how}) to answer buildctl debug workers`,
        giveUp: async () => {
          if (unrunnable) return `buildctl cannot run:\n${formatEvidence(unrunnable)}`;
          return (await this.alive())
            ? undefined
            : `the daemon exited; its log:\n${tailLines(await this.logs(), 30)}`;
        },
      },
    );
    return this.readiness;
  }

  supports(feature: Feature): string | undefined {
    return this.unsupported[feature];
  }

  abstract logs(): Promise<string>;
  abstract alive(): Promise<boolean>;
  protected abstract shutdown(): Promise<void>;

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
