import type { BinariesUnderTest } from '../build/binaries-under-test.ts';
import { BASE_IMAGE, buildkitdToml } from '../helpers/buildkitd-toml.ts';
import { pollUntil } from '../helpers/poll.ts';
import type { PhaseContext } from './phase-context.ts';
import { tailLines } from './tail-buffer.ts';
import type { Target } from './target.ts';

/** A buildkitd started on the target for this file, however it had to be started. */
export interface Daemon {
  /** `unix:///...` as buildctl on the target reaches it. */
  addr: string;
  /** How it runs: directly (the user is root) or in a privileged container (docker group). */
  how: string;
  buildctl: string;
  logs(): Promise<string>;
  /** False once the daemon's process (or container) has exited. */
  alive(): Promise<boolean>;
}

/** The host's runc and the shared libraries it links, to bind-mount into the daemon's container. */
async function runcMounts(target: Target): Promise<string[]> {
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

export async function startDaemon(ctx: PhaseContext, bins: BinariesUnderTest): Promise<Daemon> {
  const { target, resources, facts, config } = ctx;
  const extraArgs = config.buildkitdFlags;
  const dir = await resources.tempDir('buildkitd');
  const buildctl = `${bins.remoteBinDir}/buildctl`;
  const toml = buildkitdToml(config.registryMirror);
  await target.writeFile(`${dir}/buildkitd.toml`, toml);
  let daemon: Daemon;
  if (facts.uid === 0) {
    const sock = `${dir}/buildkitd.sock`;
    const { log, pgid } = await resources.background('buildkitd', dir, [
      `${bins.remoteBinDir}/buildkitd`,
      '--root',
      `${dir}/state`,
      '--addr',
      `unix://${sock}`,
      '--config',
      `${dir}/buildkitd.toml`,
      '--oci-worker=true',
      '--containerd-worker=false',
      ...extraArgs,
    ]);
    resources.defer(`buildkitd state ${dir}/state`, () =>
      target.exec(['rm', '-rf', `${dir}/state`], { reject: false }),
    );
    daemon = {
      addr: `unix://${sock}`,
      how: `directly (the target user is root)${extraArgs.length ? ` with ${extraArgs.join(' ')}` : ''}`,
      buildctl,
      logs: async () => (await target.exec(['cat', log], { reject: false })).stdout,
      alive: async () => !(await target.exec(['kill', '-0', `-${pgid}`], { reject: false })).failed,
    };
  } else {
    const gid = (await target.exec(['sh', '-c', 'getent group docker | cut -d: -f3'])).stdout.trim();
    await target.exec(['docker', 'pull', '-q', BASE_IMAGE], {
      context: `pulling ${BASE_IMAGE} on the target`,
      timeoutMs: 10 * 60_000,
    });
    const volume = resources.name('buildkitd-state');
    await target.exec(['docker', 'volume', 'create', ...resources.labelFlags, volume]);
    resources.volume(volume);
    const name = resources.name('buildkitd');
    const run = await target.exec(
      [
        'docker',
        'run',
        '-d',
        '--privileged',
        '--name',
        name,
        ...resources.labelFlags,
        '-v',
        `${volume}:/var/lib/buildkit`,
        '-v',
        `${dir}:/run/buildkit`,
        '-v',
        `${bins.remoteBinDir}:/opt/bka/bin:ro`,
        ...(await runcMounts(target)),
        '--entrypoint',
        '/opt/bka/bin/buildkitd',
        BASE_IMAGE,
        '--addr',
        'unix:///run/buildkit/buildkitd.sock',
        '--group',
        gid || '0',
        '--config',
        '/run/buildkit/buildkitd.toml',
        '--oci-worker=true',
        '--containerd-worker=false',
        ...extraArgs,
      ],
      { context: 'starting buildkitd in a privileged container' },
    );
    const id = run.stdout.trim();
    resources.container(id);
    // The socket is root's, in the runner's temp dir: remove it through the container before the dir goes.
    resources.defer(`socket in ${dir}`, () =>
      target.exec(['docker', 'exec', id, 'rm', '-f', '/run/buildkit/buildkitd.sock'], { reject: false }),
    );
    daemon = {
      addr: `unix://${dir}/buildkitd.sock`,
      how: `in a privileged container (${BASE_IMAGE}, host runc bind-mounted), because ${facts.user} is not root but is in the docker group${extraArgs.length ? `; extra flags ${extraArgs.join(' ')}` : ''}`,
      buildctl,
      logs: async () => {
        const r = await target.exec(['docker', 'logs', '--tail', '300', id], { reject: false });
        return `${r.stdout}${r.stderr}`;
      },
      alive: async () =>
        (
          await target.exec(['docker', 'inspect', '-f', '{{.State.Running}}', id], { reject: false })
        ).stdout.trim() === 'true',
    };
  }
  return daemon;
}

/** Waits until `buildctl debug workers` answers; gives up early when the daemon is gone. */
export async function waitForDaemon(ctx: PhaseContext, daemon: Daemon, timeoutMs = 180_000): Promise<string> {
  return pollUntil(
    async () => {
      const r = await ctx.target.exec(
        [daemon.buildctl, '--addr', daemon.addr, 'debug', 'workers', '--format', '{{json .}}'],
        {
          reject: false,
          timeoutMs: 30_000,
        },
      );
      return r.failed ? undefined : r.stdout;
    },
    {
      timeoutMs,
      intervalMs: 1000,
      what: `buildkitd (${daemon.how}) to answer buildctl debug workers`,
      giveUp: async () => {
        if (await daemon.alive()) return undefined;
        return `the daemon exited; its log:\n${tailLines(await daemon.logs(), 30)}`;
      },
    },
  );
}

/** Runs `fn`; when it fails, the daemon's log is appended to the failure. */
export async function withDaemonLogs<T>(daemon: Daemon | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (daemon && err instanceof Error) {
      const logs = await daemon.logs().catch((e: unknown) => `(could not read the daemon log: ${e})`);
      err.message = `${err.message}\n\nbuildkitd log (${daemon.how}, tail):\n${tailLines(logs, 40)}`;
    }
    throw err;
  }
}
