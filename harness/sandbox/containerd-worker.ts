/**
 * `worker=containerd`: the image under test with BuildKit's containerd worker, pointed at the target's
 * own containerd (warm-metal's deployment): `docker run --privileged` with /run/containerd,
 * /var/lib/containerd and /tmp (rshared: BuildKit's mounts must be the same paths for containerd) from
 * the host, a namespace of its own (`bka-<run>-containerd`), its state and OTEL socket in a run temp dir under
 * /tmp. The host's `ctr` is mounted read-only to read containerd's side. stop() empties the namespace
 * and BuildKit's `<namespace>_history` (prune, images, leases, content), removes both and the state,
 * then the container; it is idempotent and registered for cleanup at creation.
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import { REMOVE_NAMESPACE_SH } from '../docker/containerd-namespace.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import { containerLogs, containerRunning } from './container-state.ts';
import { DaemonWorker } from './daemon-worker.ts';

export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';

export interface ContainerdWorkerOptions {
  target: Target;
  resources: ResourceTracker;
  /** The image under test (its id). */
  image: string;
  /** A buildkitd.toml on the target. */
  toml: string;
}

export class ContainerdWorker extends DaemonWorker {
  readonly name = 'containerd';

  private constructor(
    target: Target,
    override readonly container: string,
    /** The containerd namespace the worker builds in. */
    readonly namespace: string,
    /** buildkitd's --root, the same path on the host and in the container. */
    readonly stateDir: string,
  ) {
    super(target, 'buildctl');
  }

  get how(): string {
    return `docker run --privileged with the target's containerd (${CONTAINERD_SOCKET}, namespace ${this.namespace})`;
  }

  get address(): string {
    return `docker-container://${this.container}`;
  }

  static async start(o: ContainerdWorkerOptions): Promise<ContainerdWorker> {
    const name = o.resources.name('containerd-worker');
    // Named like every resource of the run (the janitor finds it by the run's prefix).
    const namespace = o.resources.name('containerd');
    const dir = await o.resources.tempDir('containerd-worker');
    if (!dir.startsWith('/tmp/')) throw new Error(`the run's temp dir ${dir} is not under /tmp`);
    const ctr = (await o.target.exec(['sh', '-c', 'command -v ctr || true'])).stdout.trim();
    if (!ctr) throw new Error(`no ctr on ${o.target.host}: it comes with containerd`);
    const run = await o.target.exec(
      [
        ...['docker', 'run', '-d', '--privileged', '--name', name, ...o.resources.labelFlags],
        ...['-v', '/run/containerd:/run/containerd', '-v', '/var/lib/containerd:/var/lib/containerd:rshared'],
        ...['-v', '/tmp:/tmp:rshared', '-v', `${ctr}:/usr/local/bin/ctr:ro`],
        ...['-v', `${o.toml}:/etc/buildkit/buildkitd.toml:ro`, o.image],
        ...['--oci-worker=false', '--containerd-worker=true', '--containerd-worker-addr', CONTAINERD_SOCKET],
        ...['--containerd-worker-namespace', namespace, '--root', `${dir}/state`],
        // RUN steps get this socket bind-mounted by the host's runc: it must be a host path too
        // (moby/buildkit#4764).
        ...['--otel-socket-path', `${dir}/otel-grpc.sock`],
      ],
      { context: 'starting the image under test with the containerd worker' },
    );
    o.resources.container(run.stdout.trim());
    const worker = new ContainerdWorker(o.target, name, namespace, `${dir}/state`);
    // Registered after the container (cleanup runs last-in first-out): the namespace and the root-owned
    // state go while the container that reaches them is still there.
    o.resources.defer(`containerd worker ${name} (namespace ${namespace})`, () => worker.stop());
    return worker;
  }

  override buildctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return this.target.exec(['docker', 'exec', this.container, 'buildctl', ...args], options);
  }

  /** `ctr -n <namespace> ...args` against the target's containerd (from inside the container). */
  ctr(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return this.target.exec(
      ['docker', 'exec', this.container, 'ctr', '-n', this.namespace, ...args],
      options,
    );
  }

  /** A shell command as root in the container (it sees the host's containerd directories). */
  asRoot(script: string, args: string[] = [], options?: ExecOptions): Promise<CommandResult> {
    return this.target.exec(['docker', 'exec', this.container, 'sh', '-c', script, 'sh', ...args], options);
  }

  logs() {
    return containerLogs(this.target, this.container);
  }

  alive() {
    return containerRunning(this.target, this.container);
  }

  protected async shutdown() {
    // containerd collects snapshots and content once nothing refers to them; the namespace goes last.
    // BuildKit keeps its build history in a second namespace, <namespace>_history: both go.
    const script = [
      REMOVE_NAMESPACE_SH,
      'buildctl prune --all >/dev/null 2>&1',
      'rmns "$1"; rmns "$1_history"',
      'rm -rf "$2"',
      'left=$(ctr namespaces ls -q | grep -x -e "$1" -e "$1_history")',
      '[ -z "$left" ] || { echo "namespaces not empty: $left" >&2; exit 1; }',
    ].join('\n');
    const emptied = await this.asRoot(script, [this.namespace, this.stateDir], {
      reject: false,
      timeoutMs: 180_000,
    });
    await this.target.exec(['docker', 'rm', '-f', '-v', this.container], {
      reject: false,
      timeoutMs: 60_000,
    });
    if (emptied.failed && (await this.containerExisted(emptied)))
      throw new Error(`could not remove containerd namespace ${this.namespace}: ${emptied.stderr.trim()}`);
  }

  /** Whether a failure came from the cleanup itself, not from a container that was never there. */
  private async containerExisted(r: CommandResult): Promise<boolean> {
    return !/No such container/i.test(r.stderr);
  }
}
