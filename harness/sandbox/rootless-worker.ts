/**
 * `worker=rootless`: phase 1's buildkitd as the runner's own user, no sudo, as BuildKit's rootless
 * worker starts it (`rootlesskit buildkitd`), the socket under `$XDG_RUNTIME_DIR`. Its preflight names
 * the exact missing piece. The process group is registered for cleanup when it starts; its state (owned
 * by subordinate ids the user cannot remove directly) is removed through rootlesskit first.
 */
import { stopProcessGroup } from '../process-group.ts';
import type { ResourceTracker } from '../resources.ts';
import type { Target } from '../target.ts';
import { DaemonWorker } from './daemon-worker.ts';

/**
 * Why rootless BuildKit cannot run as the target's user, or undefined: setuid newuidmap/newgidmap,
 * a subuid and subgid range, user namespaces, XDG_RUNTIME_DIR and rootlesskit, each checked on the target.
 */
export async function rootlessProblem(target: Target): Promise<string | undefined> {
  const script = String.raw`
u=$(id -un)
for b in newuidmap newgidmap; do
  p=$(command -v $b) || { echo "no $b: install the uidmap package"; exit 0; }
  [ -u "$p" ] || { echo "$p is not setuid root"; exit 0; }
done
for f in /etc/subuid /etc/subgid; do
  grep -qE "^($u|$(id -u)):" "$f" 2>/dev/null || { echo "no range for $u in $f (add one with usermod --add-subuids/--add-subgids)"; exit 0; }
done
[ -n "$XDG_RUNTIME_DIR" ] && [ -d "$XDG_RUNTIME_DIR" ] || { echo "no XDG_RUNTIME_DIR in the login session (pam_systemd, or loginctl enable-linger $u)"; exit 0; }
unshare -U true 2>/dev/null || { echo "user namespaces are refused to $u (unshare -U true failed)"; exit 0; }
command -v rootlesskit >/dev/null || { echo "no rootlesskit: install the rootlesskit package"; exit 0; }
`;
  const r = await target.exec(['sh', '-c', script], { reject: false });
  if (r.failed) return `the rootless preflight failed: ${r.stderr.trim().split('\n').pop()}`;
  return r.stdout.trim() || undefined;
}

export class RootlessWorker extends DaemonWorker {
  readonly name = 'rootless';

  private constructor(
    target: Target,
    buildctl: string,
    readonly address: string,
    readonly how: string,
    private readonly log: string,
    readonly pgid: number,
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
    const runtime = (await target.exec(['sh', '-c', 'echo "$XDG_RUNTIME_DIR"'])).stdout.trim();
    const sockDir = `${runtime}/${resources.name('buildkit')}`;
    await target.exec(['mkdir', '-p', sockDir]);
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
    );
  }

  async logs() {
    return (await this.target.exec(['cat', this.log], { reject: false })).stdout;
  }

  async alive() {
    return !(await this.target.exec(['kill', '-0', `-${this.pgid}`], { reject: false })).failed;
  }

  protected async shutdown() {
    await stopProcessGroup(this.target, this.pgid, 20);
  }
}
