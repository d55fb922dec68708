/**
 * `worker=rootless`: phase 1's buildkitd as the runner's own user, no sudo, as BuildKit's rootless
 * worker starts it (`rootlesskit buildkitd`), the socket under `$XDG_RUNTIME_DIR` (or, with no login
 * session, a runtime dir of the run's own). The target facts
 * name the exact missing piece (feature `rootless`). The process group is registered for cleanup when it starts; its state (owned
 * by subordinate ids the user cannot remove directly) is removed through rootlesskit first.
 */
import { processGroupAlive, stopProcessGroup } from '../target/process-group.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { Target } from '../target/target.ts';
import { DaemonWorker } from './daemon-worker.ts';

export class RootlessWorker extends DaemonWorker {
  readonly name = 'rootless';

  private constructor(
    target: Target,
    buildctl: string,
    readonly address: string,
    readonly how: string,
    private readonly log: string,
    readonly pgid: number,
    /** The daemon's --root on the host. */
    readonly stateDir: string,
  ) {
    super(target, buildctl);
  }

  static async start(
    target: Target,
    resources: ResourceTracker,
    binDir: string,
    /** A buildkitd.toml on the target (registry mirrors). */
    toml: string,
  ): Promise<RootlessWorker> {
    const dir = await resources.tempDir('rootless');
    // Inside the user's XDG_RUNTIME_DIR when the session has one; a runner started as a service has no
    // login session and none: then a runtime dir of the run's own, in its temp dir (mode 0700).
    const runtime = (
      await target.exec(
        ['sh', '-c', '[ -n "$XDG_RUNTIME_DIR" ] && [ -d "$XDG_RUNTIME_DIR" ] && echo "$XDG_RUNTIME_DIR"'],
        {
          reject: false,
        },
      )
    ).stdout.trim();
    const sockDir = runtime ? `${runtime}/${resources.name('buildkit')}` : `${dir}/run`;
    await target.exec(['mkdir', '-p', '-m', '0700', sockDir]);
    resources.defer(`socket dir ${sockDir}`, () => target.exec(['rm', '-rf', sockDir], { reject: false }));
    // Registered before the daemon starts, so it runs after the daemon is stopped and before the dir goes.
    resources.defer(`rootless state in ${dir}`, () =>
      target.exec(['rootlesskit', 'rm', '-rf', `${dir}/state`], { reject: false, timeoutMs: 120_000 }),
    );
    // Its own XDG_RUNTIME_DIR (inside the user's): rootlesskit's state and buildkitd's trace socket
    // ($XDG_RUNTIME_DIR/buildkit/otel-grpc.sock) then go with the run, not into the user's own dirs.
    const { log, pgid } = await resources.background('buildkitd', dir, [
      'env',
      `XDG_RUNTIME_DIR=${sockDir}`,
      'rootlesskit',
      `${binDir}/buildkitd`,
      ...['--root', `${dir}/state`, '--addr', `unix://${sockDir}/buildkitd.sock`, '--config', toml],
      '--oci-worker-gc=false',
    ]);
    return new RootlessWorker(
      target,
      `${binDir}/buildctl`,
      `unix://${sockDir}/buildkitd.sock`,
      'rootlesskit buildkitd as the target user (no sudo), socket under $XDG_RUNTIME_DIR',
      log,
      pgid,
      `${dir}/state`,
    );
  }

  async logs() {
    return (await this.target.exec(['cat', this.log], { reject: false })).stdout;
  }

  async alive() {
    return await processGroupAlive(this.target, this.pgid);
  }

  protected async shutdown() {
    await stopProcessGroup(this.target, this.pgid, 20);
  }
}
