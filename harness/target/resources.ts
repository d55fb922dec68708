import { randomBytes } from 'node:crypto';
import { errorMessage } from '../../helpers/errors.ts';
import { runEnv, setRunEnv } from '../plan/run-env.ts';
import { stopProcessGroup } from './process-group.ts';
import { killAllTracked } from './process-tree.ts';
import type { Target } from './target.ts';

/** Every Docker object the suite creates carries this label with the run id. */
export const RUN_LABEL = 'io.github.buildkit-riscv64-acceptance.run';
/** Names of things that cannot be labelled (buildx builders, temp dirs) start with this. */
export const NAME_PREFIX = 'bka';

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-').toLowerCase();
  return `${t}-${randomBytes(3).toString('hex')}`;
}

/** The run id shared by the CLI, vitest's main process and its workers. */
export function currentRunId(): string {
  const id = runEnv('runId') ?? newRunId();
  setRunEnv('runId', id);
  return id;
}

export function resourceName(kind: string, runId = currentRunId()): string {
  return `${NAME_PREFIX}-${runId}-${kind}`.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 120);
}

export interface Registered {
  what: string;
  remove: () => Promise<void>;
}

/**
 * Cleanup registered the moment a resource is created, run in reverse order. Errors in one cleanup
 * do not stop the others; they are collected and reported together.
 */
/** How many names of each run and kind this process has given out. */
const issued = new Map<string, number>();

export class ResourceTracker implements AsyncDisposable {
  private readonly stack: Registered[] = [];

  /**
   * `scope`: what names this tracker's resources besides the run (a phase: phases of a run may run side
   * by side, each in its own process, and a name must not meet another phase's).
   */
  constructor(
    readonly target: Target,
    readonly runId = currentRunId(),
    readonly scope?: string,
  ) {
    live.add(this);
    installInterruptCleanup();
  }

  get labels(): Record<string, string> {
    return { [RUN_LABEL]: this.runId };
  }

  /** Docker CLI flags that label what `docker run/create/network/volume create` makes. */
  get labelFlags(): string[] {
    return ['--label', `${RUN_LABEL}=${this.runId}`];
  }

  /** A name of this run (and scope) for a `kind` of resource, unique in this process (`kind`, `kind-2`, ...). */
  name(what: string): string {
    const kind = this.scope ? `${this.scope}-${what}` : what;
    const key = `${this.runId}/${kind}`;
    const n = (issued.get(key) ?? 0) + 1;
    issued.set(key, n);
    return resourceName(n === 1 ? kind : `${kind}-${n}`, this.runId);
  }

  defer(what: string, remove: () => Promise<unknown>): void {
    this.stack.push({ what, remove: async () => void (await remove()) });
  }

  container(id: string): void {
    this.defer(`container ${id}`, () =>
      this.target.exec(['docker', 'rm', '-f', '-v', id], { reject: false, timeoutMs: 60_000 }),
    );
  }

  image(ref: string): void {
    this.defer(`image ${ref}`, () =>
      this.target.exec(['docker', 'image', 'rm', '-f', ref], { reject: false, timeoutMs: 60_000 }),
    );
  }

  volume(name: string): void {
    this.defer(`volume ${name}`, () =>
      this.target.exec(['docker', 'volume', 'rm', '-f', name], { reject: false, timeoutMs: 60_000 }),
    );
  }

  network(name: string): void {
    this.defer(`network ${name}`, () =>
      this.target.exec(['docker', 'network', 'rm', name], { reject: false, timeoutMs: 60_000 }),
    );
  }

  builder(name: string): void {
    this.defer(`buildx builder ${name}`, () =>
      this.target.exec(['docker', 'buildx', 'rm', '--force', name], { reject: false, timeoutMs: 120_000 }),
    );
  }

  /** A temp dir on the target, named after the run so the janitor finds it. */
  async tempDir(kind: string): Promise<string> {
    const r = await this.target.exec(['mktemp', '-d', `/tmp/${this.name(kind)}.XXXXXX`], {
      context: 'creating a temp dir',
    });
    const dir = r.stdout.trim();
    this.defer(`temp dir ${dir}`, () =>
      this.target.exec(['rm', '-rf', dir], { reject: false, timeoutMs: 60_000 }),
    );
    return dir;
  }

  /**
   * Starts a background process on the target in its own process group (setsid), its output in
   * `dir/<kind>.log` and its group id in `dir/<kind>.pgid` (where the janitor finds it too).
   * The whole group is killed at cleanup. Returns the log path.
   */
  async background(
    kind: string,
    dir: string,
    argv: readonly string[],
  ): Promise<{ log: string; pgid: number }> {
    const log = `${dir}/${kind}.log`;
    const pgidFile = `${dir}/${kind}.pgid`;
    const script =
      'pg=$1; log=$2; shift 2; setsid sh -c \'echo $$ > "$0"; exec "$@"\' "$pg" "$@" > "$log" 2>&1 < /dev/null & for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$pg" ] && break; sleep 0.2; done; cat "$pg"';
    const r = await this.target.exec(['sh', '-c', script, 'sh', pgidFile, log, ...argv], {
      context: `starting ${kind}`,
      timeoutMs: 30_000,
    });
    const pgid = Number(r.stdout.trim());
    if (!Number.isInteger(pgid) || pgid <= 1)
      throw new Error(`starting ${kind}: no process group id (got '${r.stdout.trim()}')`);
    this.defer(`process group ${pgid} (${kind})`, () => stopProcessGroup(this.target, pgid));
    return { log, pgid };
  }

  /** How many registered cleanups have not run yet. */
  get pending(): number {
    return this.stack.length;
  }

  /** Runs every cleanup in reverse order; returns the ones that failed. */
  async cleanup(): Promise<string[]> {
    const failures: string[] = [];
    while (this.stack.length > 0) {
      const item = this.stack.pop()!;
      try {
        await item.remove();
      } catch (err) {
        failures.push(`${item.what}: ${errorMessage(err)}`);
      }
    }
    return failures;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}

const live = new Set<ResourceTracker>();
let interruptInstalled = false;

/**
 * On SIGINT/SIGTERM/SIGHUP: kill local child process trees, run every live tracker's cleanup
 * (bounded to a minute), then exit 130. Installed once per process, by the first tracker.
 */
export function installInterruptCleanup(): void {
  if (interruptInstalled) return;
  interruptInstalled = true;
  const handler = (signal: NodeJS.Signals) => {
    const pending = [...live].reduce((n, t) => n + t.pending, 0);
    killAllTracked('SIGTERM');
    // A worker told to stop after its files finished has nothing left: leave quietly.
    if (pending === 0) process.exit(0);
    process.stderr.write(`${signal}: removing the ${pending} resource(s) this run still holds ...\n`);
    const all = Promise.all([...live].map((t) => t.cleanup()));
    const cap = new Promise((r) => setTimeout(r, 60_000).unref());
    void Promise.race([all, cap]).finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, handler);
}
