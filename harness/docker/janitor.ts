/**
 * The janitor: removes what runs left behind on the target (also after a SIGKILL, when no tracker ran),
 * found by label and by the run's name prefix.
 */

import { NAME_PREFIX, RUN_LABEL } from '../target/resources.ts';
import type { Target } from '../target/target.ts';
import { sweepContainerd } from './janitor-containerd.ts';

export interface JanitorReport {
  removed: string[];
  failed: string[];
}

/**
 * Removes what runs left behind, by label and name prefix: containers, volumes, networks, images,
 * buildx builders, systemd units, containerd namespaces, temp dirs and the processes recorded in them. `runId` limits it to one run.
 */
export async function janitor(target: Target, runId?: string): Promise<JanitorReport> {
  const { label, prefix } = runScope(runId);
  const removed: string[] = [];
  const failed: string[] = [];
  // A failure keeps its stderr's last lines: Buildx says why before its summary line.
  const why = (stderr: string) => stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
  const attempt = async (argv: string[]) => target.exec(argv, { reject: false, timeoutMs: 120_000 });
  const run = async (what: string, argv: string[]) => {
    const r = await attempt(argv);
    if (r.failed) failed.push(`${what}: ${why(r.stderr)}`);
    else removed.push(what);
  };
  const list = async (argv: string[]) => {
    const r = await target.exec(argv, { reject: false, timeoutMs: 60_000 });
    return r.failed
      ? []
      : r.stdout
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean);
  };
  const hasDocker = !(
    await target.exec(['docker', 'version', '--format', '{{.Server.Version}}'], {
      reject: false,
      timeoutMs: 30_000,
    })
  ).failed;
  // A containerd worker that was left running leaves a namespace and root-owned state to sweep.
  let containerdWorker = false;
  if (hasDocker) {
    // The listings side by side (each CLI start is slow on an emulated target); removals in order:
    // builders, then containers (listed after the builders are gone), volumes, networks, images.
    const [containerdWorkers, builders, volumes, networks, images] = await Promise.all([
      list(['docker', 'ps', '-aq', '--filter', `label=${label}`, '--filter', 'name=containerd']),
      list(['docker', 'buildx', 'ls', '--format', '{{.Name}}']),
      list(['docker', 'volume', 'ls', '-q', '--filter', `label=${label}`]),
      list(['docker', 'network', 'ls', '-q', '--filter', `label=${label}`]),
      list(['docker', 'images', '-q', '--filter', `label=${label}`]),
    ]);
    containerdWorker = containerdWorkers.length > 0;
    // A builder whose container an interrupted teardown was removing fails to go: asked again once its
    // containers are gone.
    const again: string[] = [];
    for (const b of builders) {
      if (!b.startsWith(prefix)) continue;
      if ((await attempt(['docker', 'buildx', 'rm', '--force', b])).failed) again.push(b);
      else removed.push(`buildx builder ${b}`);
    }
    // Buildx names its docker-container nodes (and their state volumes) after the builder; no label.
    const buildxNode = `name=buildx_buildkit_${prefix}`;
    const [labelled, nodes, nodeVolumes] = await Promise.all([
      list(['docker', 'ps', '-aq', '--filter', `label=${label}`]),
      again.length ? list(['docker', 'ps', '-aq', '--filter', buildxNode]) : [],
      again.length ? list(['docker', 'volume', 'ls', '-q', '--filter', buildxNode]) : [],
    ]);
    for (const id of new Set([...labelled, ...nodes])) {
      await run(`container ${id}`, ['docker', 'rm', '-f', '-v', id]);
    }
    volumes.push(...nodeVolumes.filter((v) => !volumes.includes(v)));
    for (const b of again) {
      const r = await attempt(['docker', 'buildx', 'rm', '--force', b]);
      // Gone meanwhile (an interrupted test's own teardown removed it after the listing): nothing left.
      if (!r.failed) removed.push(`buildx builder ${b}`);
      else if (r.stderr.includes(`no builder "${b}" found`))
        removed.push(`buildx builder ${b} (gone already)`);
      else failed.push(`buildx builder ${b}: ${why(r.stderr)}`);
    }
    for (const v of volumes) await run(`volume ${v}`, ['docker', 'volume', 'rm', '-f', v]);
    for (const n of networks) await run(`network ${n}`, ['docker', 'network', 'rm', n]);
    for (const i of new Set(images)) await run(`image ${i}`, ['docker', 'image', 'rm', '-f', i]);
  }
  // systemd units of the run (worker=systemd links them), through sudo unless root: stop, unlink.
  const units = await list(['sh', '-c', runUnits(prefix)]);
  const sudo =
    (await target.exec(['id', '-u'], { reject: false })).stdout.trim() === '0' ? [] : ['sudo', '-n'];
  for (const unit of units) {
    await target.exec([...sudo, 'systemctl', 'stop', unit], { reject: false, timeoutMs: 120_000 });
    await run(`systemd unit ${unit}`, [...sudo, 'systemctl', 'disable', unit]);
    await target.exec([...sudo, 'systemctl', 'reset-failed', unit], { reject: false });
  }
  if (units.length) await target.exec([...sudo, 'systemctl', 'daemon-reload'], { reject: false });
  // A `pids` file in a temp dir lists background process groups to kill first.
  const rootOwned: string[] = [];
  // Temp dirs under /tmp, and the board rehearsal's checkout in the runner's home.
  for (const dir of await list(['sh', '-c', runDirs(prefix)])) {
    await target.exec(
      [
        'sh',
        '-c',
        // Kill each recorded group, then wait (up to 5 s) until it is really gone; then every process
        // still working in the dir (a rehearsal's run in its checkout, orphaned when its driver died).
        'for p in $(cat "$1"/*.pgid 2>/dev/null); do kill -KILL "-$p" 2>/dev/null; i=0; while kill -0 "-$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; done; ' +
          'for p in /proc/[0-9]*; do case "$(readlink "$p/cwd" 2>/dev/null)" in "$1"|"$1"/*) kill -KILL "$(basename "$p")" 2>/dev/null;; esac; done; true',
        'sh',
        dir,
      ],
      {
        reject: false,
      },
    );
    const rm = await target.exec(['rm', '-rf', dir], { reject: false, timeoutMs: 120_000 });
    if (rm.failed) rootOwned.push(dir);
    else removed.push(`temp dir ${dir}`);
  }
  // The containerd worker's namespaces and root-owned state, as root through a container.
  if (hasDocker && (containerdWorker || rootOwned.length > 0))
    for (const line of await sweepContainerd(target, prefix)) {
      const [verdict, ...what] = line.split(' ');
      (verdict === 'removed' ? removed : failed).push(what.join(' '));
    }
  for (const dir of rootOwned)
    if (!(await target.exec(['test', '-e', dir], { reject: false })).failed)
      failed.push(`temp dir ${dir}: not removed (root-owned files, and no way to remove them as root)`);
  return { removed, failed };
}

/** The label and name prefix of one run's resources, or of every run's. */
const runScope = (runId?: string) => ({
  label: runId ? `${RUN_LABEL}=${runId}` : RUN_LABEL,
  prefix: runId ? `${NAME_PREFIX}-${runId}-` : `${NAME_PREFIX}-`,
});

/** A shell listing the runs' systemd units, one name a line. */
const runUnits = (prefix: string) =>
  `systemctl list-unit-files --no-legend --plain '${prefix}*' 2>/dev/null | awk '{print $1}'`;

/**
 * A shell listing the runs' directories: temp dirs under /tmp and the board rehearsal's checkout in the
 * runner's home; never the one the janitor works in (the rehearsal's nightly runs it from its checkout).
 */
const runDirs = (prefix: string) =>
  `for d in /tmp/${prefix}* "$HOME"/${prefix}*; do [ -e "$d" ] || continue; case "$PWD/" in "$d"/*) continue;; esac; echo "$d"; done`;

/**
 * What runs left on the target, at a glance (one shell on the target, each listing at most a few
 * lines): labelled containers, volumes, networks and images, the runs' builders, units and directories.
 * Empty when there is nothing for `janitor` (of the same `runId`, or of every run) to remove.
 */
export async function leftovers(target: Target, runId?: string): Promise<string[]> {
  const { label, prefix } = runScope(runId);
  const script = [
    ...Object.entries({
      container: 'ps -aq',
      volume: 'volume ls -q',
      network: 'network ls -q',
      image: 'images -q',
    }).map(([what, ls]) => `docker ${ls} --filter label=${label} 2>/dev/null | sed 's/^/${what} /'`),
    `docker buildx ls --format '{{.Name}}' 2>/dev/null | grep '^${prefix}' | sed 's/^/builder /'`,
    `${runUnits(prefix)} | sed 's/^/unit /'`,
    runDirs(prefix),
  ].join('; ');
  const r = await target.exec(['sh', '-c', `{ ${script}; } | head -20`], {
    reject: false,
    timeoutMs: 120_000,
  });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
