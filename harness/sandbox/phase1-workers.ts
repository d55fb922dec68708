/**
 * Phase 1's buildkitd on the target, started the way the target's user can: as a process when the user
 * is root (`worker=root-process`), else in a privileged container with the host's runc bind-mounted
 * (`worker=privileged-container`, what a docker-group user on the real runner can do). Both are
 * registered with the run's resource tracker when they are created.
 */
import { BASE_IMAGE, buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import { processGroupAlive } from '../target/process-group.ts';
import type { Target } from '../target/target.ts';
import { containerLogs, containerRunning } from './container-state.ts';
import { DaemonWorker } from './daemon-worker.ts';

/** The host's runc and the shared libraries it links, to bind-mount into the daemon's container. */
export async function runcMounts(target: Target): Promise<string[]> {
  const which = await target.exec(['sh', '-c', 'command -v runc'], { reject: false });
  const runc = which.stdout.trim();
  if (which.failed || !runc)
    throw new Error(`no runc on ${target.host}: install Debian's runc package (it comes with docker.io)`);
  const ldd = await target.exec(['ldd', runc], { reject: false });
  const libs = [...ldd.stdout.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]!);
  const mounts = ['-v', `${runc}:/usr/local/bin/runc:ro`];
  for (const lib of libs) mounts.push('-v', `${lib}:${lib}:ro`);
  return mounts;
}

const flagsNote = (flags: string[]) => (flags.length ? `, extra flags ${flags.join(' ')}` : '');

class RootProcessWorker extends DaemonWorker {
  readonly name = 'root-process';
  constructor(
    target: Target,
    buildctl: string,
    readonly address: string,
    readonly how: string,
    private readonly log: string,
    private readonly pgid: number,
  ) {
    super(target, buildctl);
  }
  async logs() {
    return (await this.target.exec(['cat', this.log], { reject: false })).stdout;
  }
  async alive() {
    return await processGroupAlive(this.target, this.pgid);
  }
  async shutdown() {
    await this.target.exec(['sh', '-c', 'kill -TERM "-$1"', 'sh', String(this.pgid)], { reject: false });
  }
}

export class PrivilegedContainerWorker extends DaemonWorker {
  readonly name = 'privileged-container';
  constructor(
    target: Target,
    buildctl: string,
    readonly address: string,
    readonly how: string,
    /** The daemon's container on the target. */
    override readonly container: string,
  ) {
    super(target, buildctl);
  }
  logs() {
    return containerLogs(this.target, this.container);
  }
  alive() {
    return containerRunning(this.target, this.container);
  }
  async shutdown() {
    await this.target.exec(['docker', 'stop', '-t', '10', this.container], {
      reject: false,
      timeoutMs: 60_000,
    });
  }
}

/** The worker phase 1's checks run on for this target (known before it starts: test names carry it). */
export function phase1WorkerName(facts: { uid: number }): 'root-process' | 'privileged-container' {
  return facts.uid === 0 ? 'root-process' : 'privileged-container';
}

/** Starts phase 1's buildkitd as the target's user can; cleanup is registered as it is created. */
export async function phase1Worker(ctx: PhaseContext, bins: { remoteBinDir: string }): Promise<DaemonWorker> {
  const { target, resources, facts, config } = ctx;
  const extra = config.buildkitdFlags;
  const dir = await resources.tempDir('buildkitd');
  const buildctl = `${bins.remoteBinDir}/buildctl`;
  await target.writeFile(`${dir}/buildkitd.toml`, buildkitdToml(config.registryMirror));
  const common = ['--config', `${dir}/buildkitd.toml`, '--oci-worker=true', '--containerd-worker=false'];
  if (facts.uid === 0) {
    const sock = `${dir}/buildkitd.sock`;
    const { log, pgid } = await resources.background('buildkitd', dir, [
      `${bins.remoteBinDir}/buildkitd`,
      ...['--root', `${dir}/state`, '--addr', `unix://${sock}`],
      ...common,
      ...extra,
    ]);
    resources.defer(`buildkitd state ${dir}/state`, () =>
      target.exec(['rm', '-rf', `${dir}/state`], { reject: false }),
    );
    return new RootProcessWorker(
      target,
      buildctl,
      `unix://${sock}`,
      `directly (the target user is root)${flagsNote(extra)}`,
      log,
      pgid,
    );
  }
  const gid = (await target.exec(['sh', '-c', 'getent group docker | cut -d: -f3'])).stdout.trim();
  await target.exec(['docker', 'pull', '-q', BASE_IMAGE], {
    context: `pulling ${BASE_IMAGE} on the target`,
    timeoutMs: 10 * 60_000,
  });
  const volume = resources.name('buildkitd-state');
  await target.exec(['docker', 'volume', 'create', ...resources.labelFlags, volume]);
  resources.volume(volume);
  const run = await target.exec(
    [
      ...[
        'docker',
        'run',
        '-d',
        '--privileged',
        '--name',
        resources.name('buildkitd'),
        ...resources.labelFlags,
      ],
      ...[
        '-v',
        `${volume}:/var/lib/buildkit`,
        '-v',
        `${dir}:/run/buildkit`,
        '-v',
        `${bins.remoteBinDir}:/opt/bka/bin:ro`,
      ],
      ...(await runcMounts(target)),
      ...['--entrypoint', '/opt/bka/bin/buildkitd', BASE_IMAGE],
      ...['--addr', 'unix:///run/buildkit/buildkitd.sock', '--group', gid || '0'],
      ...common.map((a) => (a === `${dir}/buildkitd.toml` ? '/run/buildkit/buildkitd.toml' : a)),
      ...extra,
    ],
    { context: 'starting buildkitd in a privileged container' },
  );
  const id = run.stdout.trim();
  resources.container(id);
  // The socket is root's, in the runner's temp dir: remove it through the container before the dir goes.
  resources.defer(`socket in ${dir}`, () =>
    target.exec(['docker', 'exec', id, 'rm', '-f', '/run/buildkit/buildkitd.sock'], { reject: false }),
  );
  const how = `in a privileged container (${BASE_IMAGE}, host runc bind-mounted), because ${facts.user} is not root but is in the docker group${flagsNote(extra)}`;
  return new PrivilegedContainerWorker(target, buildctl, `unix://${dir}/buildkitd.sock`, how, id);
}
