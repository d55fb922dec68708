import { KERNEL_CONFIG_PROBE, type KernelConfig, parseKernelConfig } from '../../helpers/kernel-config.ts';
import type { Target } from '../target/target.ts';
import { ENGINE_PROBE, type EngineAnswer, parseEngineProbe } from './docker-engine.ts';

/** What the target is, probed once per run and attached to every report. */
export interface TargetFacts {
  host: string;
  arch: string;
  kernel: string;
  distro: string;
  cpuModel: string;
  /** The kernel options containers need that its configuration lacks (helpers/kernel-config.ts). */
  kernelConfig: KernelConfig;
  /** The RISC-V `isa` line of /proc/cpuinfo (the extensions its harts implement), '' elsewhere. */
  isa: string;
  cpuCount: number;
  memoryMiB: number;
  user: string;
  uid: number;
  groups: string[];
  docker: string | undefined;
  dockerServer: string | undefined;
  /** Docker's image store: `containerd` (Docker 29's default on fresh installs) or `classic` (graph drivers). */
  imageStore: 'containerd' | 'classic' | undefined;
  /** How the engine answered the user: a version, slow (with the load average), or refused (why). */
  dockerEngine: EngineAnswer | undefined;
  containerd: string | undefined;
  runc: string | undefined;
  buildx: string | undefined;
  cgroup: 'v1' | 'v2' | 'unknown';
  binfmt: BinfmtEntry[];
  unprivilegedUserns: boolean;
  /** Why rootless BuildKit cannot run as the user (the first missing piece), or undefined. */
  rootlessProblem: string | undefined;
  /** Why a BuildKit containerd worker cannot reach the target's containerd, or undefined. */
  containerdProblem: string | undefined;
  /** cosign's version, when it is on the target's PATH (it verifies the image's signature). */
  cosign?: string | undefined;
  /** Why the user cannot install a systemd service (no systemd, no sudo for systemctl), or undefined. */
  systemdProblem: string | undefined;
  /** Why the user cannot install, upgrade and remove a package (no dpkg, no sudo for apt-get/dpkg), or undefined. */
  aptProblem?: string | undefined;
  go: string | undefined;
}

export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: string;
}

/**
 * The rootless preflight as a shell function: `rootless [SUBUID_FILE] [SUBGID_FILE]` prints the first
 * missing piece (or nothing). The files default to /etc/subuid and /etc/subgid; the broken-setup self
 * test hands it a file without the user's range.
 */
export const ROOTLESS_PROBE = `rootless() {
  u=$(id -un)
  for b in newuidmap newgidmap; do
    f=$(command -v $b) || { echo "no $b: install the uidmap package"; return; }
    [ -u "$f" ] || { echo "$f is not setuid root"; return; }
  done
  su=$1; sg=$2; [ -n "$su" ] || su=/etc/subuid; [ -n "$sg" ] || sg=/etc/subgid
  for f in "$su" "$sg"; do
    grep -qE "^($u|$(id -u)):" "$f" 2>/dev/null || { echo "no range for $u in $f (add one: usermod --add-subuids/--add-subgids)"; return; }
  done
  unshare -U true 2>/dev/null || { echo "user namespaces are refused to $u (unshare -U true failed)"; return; }
  command -v rootlesskit >/dev/null || echo "no rootlesskit: install the rootlesskit package"
}
`;

/**
 * One shell script, one round trip: each probe prints `key=value` (values base64 where they may span
 * lines) so a missing tool is an empty value, not a failure.
 */
const PROBE = String.raw`
p() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }
{
p arch "$(uname -m)"
p kernel "$(uname -r)"
p distro "$( . /etc/os-release 2>/dev/null; echo "$PRETTY_NAME")"
p cpumodel "$(grep -m1 -E '^(model name|uarch|isa)' /proc/cpuinfo | sed 's/^[^:]*:[[:space:]]*//')"
p isa "$(grep -m1 '^isa' /proc/cpuinfo | sed 's/^[^:]*:[[:space:]]*//')"
p cpus "$(nproc 2>/dev/null)"
p memkb "$(awk '/^MemTotal/{print $2}' /proc/meminfo)"
p user "$(id -un)"
p uid "$(id -u)"
p groups "$(id -Gn)"
} &
# Each CLI is a Go binary that takes up to 1.5 s to start under emulation: they run side by side
# (each line is one short write, so lines do not interleave), and the script waits for all of them.
# The client's version without asking the engine (a busy or paused engine must not stall the probe).
p docker "$(docker --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\).*/\1/p')" &
engine() {
${ENGINE_PROBE}
}
p dockerengine "$(command -v docker >/dev/null && engine)" &
# The image store: containerd's snapshotters report a driver-type of io.containerd.snapshotter.v1.
p imagestore "$(timeout 30 docker info --format '{{json .DriverStatus}}' 2>/dev/null)" &
p containerd "$(containerd --version 2>/dev/null | awk '{print $3}')" &
p runc "$(runc --version 2>/dev/null | awk 'NR==1{print $3}')" &
p buildx "$(docker buildx version 2>/dev/null | awk '{print $2}')" &
p cgroup "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"
p userns "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1):$(cat /proc/sys/user/max_user_namespaces 2>/dev/null):$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)"
p go "$(go version 2>/dev/null | awk '{print $3}')" &
p cosign "$(cosign version 2>/dev/null | awk '/^GitVersion:/{print $2}')" &
kconfig() {
${KERNEL_CONFIG_PROBE}
}
p kconfig "$(kconfig)" &
${ROOTLESS_PROBE}
p rootless "$(rootless)" &
systemd() {
  [ -d /run/systemd/system ] || { echo "systemd is not the init system (no /run/systemd/system)"; return; }
  [ "$(id -u)" = 0 ] || sudo -n -l systemctl >/dev/null 2>&1 || echo "$(id -un) may not run systemctl through sudo without a password"
}
p systemd "$(systemd)" &
apt() {
  command -v dpkg >/dev/null || { echo "no dpkg: not a Debian system"; return; }
  [ "$(id -u)" = 0 ] && return
  for c in apt-get dpkg; do sudo -n -l "$c" >/dev/null 2>&1 || { echo "$(id -un) may not run $c through sudo without a password"; return; }; done
}
p apt "$(apt)" &
containerdsock() {
  [ -d /run/containerd ] || { echo "no /run/containerd: containerd does not run as a system service (a Docker with its own embedded containerd shares none)"; return; }
  [ "$(id -u)" = 0 ] && return
  [ -w /var/run/docker.sock ] || echo "/run/containerd is root's and $(id -un) cannot run a privileged container to reach its socket (not in the docker group)"
}
p containerd_socket "$(containerdsock)" &
# binfmt_misc: one awk over every entry (a fork per field costs seconds under emulation).
files=""
for f in /proc/sys/fs/binfmt_misc/*; do
  case "$f" in */register|*/status) continue;; esac
  [ -f "$f" ] && files="$files $f"
done
b=""
[ -z "$files" ] || b=$(awk '
  function out() { if (n != "") printf "%s|%s|%s|%s;", n, st, ip, fl }
  FNR == 1 { out(); n = FILENAME; sub(".*/", "", n); st = $0; ip = ""; fl = "" }
  /^interpreter/ { ip = $2 }
  /^flags:/ { fl = $2 }
  END { out() }' $files)
p binfmt "$b"
wait
`;

function decode(v: string | undefined): string {
  return v ? Buffer.from(v, 'base64').toString('utf8').trim() : '';
}

/** The image store from `docker info`'s DriverStatus (JSON), or undefined when the engine did not say. */
export function imageStoreOf(driverStatus: string): TargetFacts['imageStore'] {
  if (!driverStatus || driverStatus === 'null') return driverStatus === 'null' ? 'classic' : undefined;
  return driverStatus.includes('io.containerd.snapshotter') ? 'containerd' : 'classic';
}

export function parseFacts(host: string, stdout: string): TargetFacts {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), decode(line.slice(i + 1)));
  }
  const opt = (k: string) => kv.get(k) || undefined;
  const [clone, maxNs, apparmor] = (kv.get('userns') ?? '').split(':');
  const cgroupFs = kv.get('cgroup');
  const engine = kv.get('dockerengine') ? parseEngineProbe(kv.get('dockerengine')!) : undefined;
  return {
    host,
    arch: kv.get('arch') ?? '',
    kernel: kv.get('kernel') ?? '',
    distro: kv.get('distro') ?? '',
    cpuModel: kv.get('cpumodel') ?? '',
    isa: kv.get('isa') ?? '',
    kernelConfig: parseKernelConfig(kv.get('kconfig') ?? ''),
    cpuCount: Number(kv.get('cpus') || 0),
    memoryMiB: Math.round(Number(kv.get('memkb') || 0) / 1024),
    user: kv.get('user') ?? '',
    uid: Number(kv.get('uid') ?? -1),
    groups: (kv.get('groups') ?? '').split(/\s+/).filter(Boolean),
    docker: opt('docker'),
    dockerServer: engine?.state === 'answered' ? engine.version : undefined,
    dockerEngine: engine,
    imageStore: imageStoreOf(kv.get('imagestore') ?? ''),
    containerd: opt('containerd'),
    runc: opt('runc'),
    buildx: opt('buildx'),
    cgroup: cgroupFs === 'cgroup2fs' ? 'v2' : cgroupFs === 'tmpfs' ? 'v1' : 'unknown',
    binfmt: (kv.get('binfmt') ?? '')
      .split(';')
      .filter(Boolean)
      .map((e) => {
        const [name = '', state = '', interpreter = '', flags = ''] = e.split('|');
        return { name, enabled: state === 'enabled', interpreter, flags };
      }),
    unprivilegedUserns: clone !== '0' && maxNs !== '0' && apparmor !== '1',
    rootlessProblem: opt('rootless'),
    systemdProblem: opt('systemd'),
    aptProblem: opt('apt'),
    containerdProblem: opt('containerd_socket'),
    go: opt('go'),
    cosign: opt('cosign'),
  };
}

export async function probeFacts(target: Target): Promise<TargetFacts> {
  const result = await target.exec(['sh', '-c', PROBE], {
    timeoutMs: 60_000,
    context: 'probing the target facts',
  });
  return parseFacts(target.host, result.stdout);
}

/** Flat string properties for reports. */
export function factsAsProperties(f: TargetFacts): Record<string, string> {
  return {
    'target.host': f.host,
    'target.arch': f.arch,
    'target.kernel': f.kernel,
    'target.distro': f.distro,
    'target.cpu': `${f.cpuCount} x ${f.cpuModel || 'unknown'}`,
    ...(f.isa ? { 'target.isa': f.isa } : {}),
    'target.kernel-config': !f.kernelConfig.source
      ? 'unreadable (no /proc/config.gz or /boot/config-<release>)'
      : f.kernelConfig.missing.length
        ? `${f.kernelConfig.source}: missing ${f.kernelConfig.missing.map((m) => m.option).join(', ')}`
        : `${f.kernelConfig.source}: every option containers need`,
    'target.memory': `${f.memoryMiB} MiB`,
    'target.user': `${f.user} (uid ${f.uid}; groups ${f.groups.join(',')})`,
    'target.docker': `${f.docker ?? 'absent'} (server ${f.dockerServer ?? 'unreachable'})`,
    'target.docker-image-store': f.imageStore ?? 'unknown',
    'target.containerd': f.containerd ?? 'absent',
    'target.runc': f.runc ?? 'absent',
    'target.buildx': f.buildx ?? 'absent',
    'target.cgroup': f.cgroup,
    'target.binfmt':
      f.binfmt.map((b) => `${b.name}[${b.flags}${b.enabled ? '' : ',disabled'}]`).join(' ') || 'none',
    'target.unprivileged-userns': String(f.unprivilegedUserns),
    'target.rootless': f.rootlessProblem ?? 'ready',
    'target.containerd-socket': f.containerdProblem ?? 'reachable',
    'target.systemd': f.systemdProblem ?? 'ready',
    'target.apt': f.aptProblem ?? 'ready',
    'target.go': f.go ?? 'absent',
    'target.cosign': f.cosign ?? 'absent',
  };
}
