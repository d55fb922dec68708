import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { LabConfig } from '../config.ts';
import { debianMirrorSyncHint, errorMessage } from '../errors.ts';
import { fingerprint } from '../host-key.ts';
import { LocalTarget } from '../local-target.ts';
import { SSH_DEFAULTS, SshTarget } from '../ssh-target.ts';
import { type DebianIndex, readDebianIndex, recordedDebianIndex } from './debian-index.ts';
import { extractAptSnapshot } from './debian-mirror.ts';
import { pushMultiPlatformImage, registryPlatforms } from './oci-push.ts';
import { Progress } from './progress.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPTS = join(HERE, 'scripts');

/** What the lab VM has installed: the real runner's packages, from Debian trixie. */
export const VM_PACKAGES = [
  'linux-image-riscv64',
  'systemd',
  'systemd-sysv',
  'udev',
  'dbus',
  'openssh-server',
  'sudo',
  'ca-certificates',
  'iproute2',
  'procps',
  'kmod',
  'curl',
  'xz-utils',
  'pigz',
  'docker.io',
  'docker-cli',
  'docker-buildx',
  'containerd',
  'runc',
  'tini',
  'iptables',
  'git',
  'qemu-user-binfmt',
  'rootlesskit',
  'uidmap',
  'slirp4netns',
  'fuse-overlayfs',
  'dbus-user-session',
  'libpam-systemd',
];

/** The platforms of the `debian:trixie-slim` stand-in the lab registry serves. */
export const BASE_PLATFORMS = [
  { debArch: 'riscv64', architecture: 'riscv64' },
  { debArch: 'amd64', architecture: 'amd64' },
  { debArch: 'arm64', architecture: 'arm64', variant: 'v8' },
] as const;

export const LAB_USER = 'runner';
const GUEST_HOST_ADDR = '10.0.2.2';

export interface LabState {
  vmKey: string;
  qemuPid: number;
  registryPid: number;
  sshPort: number;
  registryPort: number;
  startedAt: string;
}

export interface LabEndpoint {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  hostKeyFingerprint: string;
  knownHostsFile: string;
  /** The registry as the VM (and containers in it) reach it. */
  registryFromGuest: string;
  /** The registry as this machine reaches it. */
  registryFromHost: string;
  /** The lab's Debian mirror (pinned index, verified pool) as the VM and its containers reach it. */
  debianMirrorFromGuest: string;
  debianMirrorFromHost: string;
}

function hash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, five seconds' grace, then SIGKILL. */
async function terminate(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * The lab: Debian trixie riscv64 under qemu-system-riscv64, provisioned like the real runner, reached
 * over SSH on a loopback port with a pinned host key, plus a local registry with base images.
 * Everything expensive is cached under `config.dir`, keyed by its inputs.
 */
export class Lab {
  readonly progress: Progress;

  constructor(
    readonly config: LabConfig,
    options: { quiet?: boolean } = {},
  ) {
    this.progress = new Progress('lab', options.quiet);
  }

  private p(...parts: string[]): string {
    return join(this.config.dir, ...parts);
  }

  private get instanceDir(): string {
    return this.p('instance');
  }

  private script(name: string): string {
    return readFileSync(join(SCRIPTS, name), 'utf8');
  }

  get imagesKey(): string {
    return hash(this.config.suite, this.config.mirror, this.script('minbase-rootfs.sh'));
  }

  vmKey(hostKeyPub: string): string {
    return hash(
      this.imagesKey,
      this.config.suite,
      this.config.mirror,
      VM_PACKAGES.join(' '),
      this.script('vm-image.sh'),
      hostKeyPub,
      `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
    );
  }

  async endpoint(): Promise<LabEndpoint> {
    const sshDir = this.p('ssh');
    const pub = await readFile(join(sshDir, 'ssh_host_ed25519_key.pub'), 'utf8');
    const blob = Buffer.from(pub.split(/\s+/)[1] ?? '', 'base64');
    return {
      host: '127.0.0.1',
      port: this.config.sshPort,
      user: LAB_USER,
      identityFile: join(sshDir, 'id_ed25519'),
      hostKeyFingerprint: fingerprint(blob),
      knownHostsFile: join(sshDir, 'known_hosts'),
      registryFromGuest: `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
      registryFromHost: `127.0.0.1:${this.config.registryPort}`,
      debianMirrorFromGuest: `http://${GUEST_HOST_ADDR}:${this.config.debianMirrorPort}/debian`,
      debianMirrorFromHost: `http://127.0.0.1:${this.config.debianMirrorPort}/debian`,
    };
  }

  /** OpenSSH client arguments that reach the lab as the runner user, host key checked. */
  static sshArgs(ep: LabEndpoint): string[] {
    return [
      '-i',
      ep.identityFile,
      '-p',
      String(ep.port),
      '-o',
      `UserKnownHostsFile=${ep.knownHostsFile}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
    ];
  }

  async readState(): Promise<LabState | undefined> {
    try {
      return JSON.parse(await readFile(join(this.instanceDir, 'state.json'), 'utf8')) as LabState;
    } catch {
      return undefined;
    }
  }

  /** True when the recorded qemu process is alive and is ours. */
  async running(): Promise<LabState | undefined> {
    const state = await this.readState();
    if (!state || !alive(state.qemuPid) || !cmdlineOf(state.qemuPid).includes('qemu-system-riscv64'))
      return undefined;
    return state;
  }

  /** Connects to the running lab through the harness's SSH target (pinned host key). */
  async connect(timeoutMs = 10_000): Promise<SshTarget> {
    const ep = await this.endpoint();
    const target = new SshTarget({
      host: ep.host,
      port: ep.port,
      user: ep.user,
      identityFiles: [ep.identityFile],
      hostKey: { pinnedFingerprint: ep.hostKeyFingerprint, knownHostsFiles: [] },
      connectTimeoutMs: timeoutMs,
      keepaliveIntervalMs: SSH_DEFAULTS.keepaliveIntervalMs,
      maxChannels: SSH_DEFAULTS.maxChannels,
      dockerSocketPath: SSH_DEFAULTS.dockerSocketPath,
    });
    await target.connect();
    return target;
  }

  /** Idempotent: provisions what the cache lacks, boots the VM, waits for SSH and Docker. */
  async up(): Promise<LabEndpoint> {
    await mkdir(this.instanceDir, { recursive: true });
    const release = await this.lock();
    try {
      const state = await this.running();
      if (state && (await this.ready(15_000))) {
        await this.ensureRegistry();
        await this.ensureDebianMirror(state.vmKey);
        this.progress.say(`already running (qemu pid ${state.qemuPid}), SSH on 127.0.0.1:${state.sshPort}`);
        return this.endpoint();
      }
      if (state) {
        this.progress.say(`qemu pid ${state.qemuPid} runs but does not answer; restarting it`);
        await this.stopVm(state, false);
      } else if (await this.readState()) {
        this.progress.say('the lab VM had died (no qemu process); starting it again');
      }
      await this.prepareHost();
      const hostKeyPub = await this.ensureKeys();
      await this.ensureBaseRootfs();
      const vmKey = this.vmKey(hostKeyPub);
      await this.ensureVmImage(vmKey);
      await this.ensureRegistry();
      await this.ensureDebianMirror(vmKey);
      await this.boot(vmKey);
      return this.endpoint();
    } finally {
      await release();
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    const file = join(this.instanceDir, 'lock');
    const deadline = Date.now() + 40 * 60_000;
    for (;;) {
      try {
        const fd = openSync(file, 'wx');
        await writeFile(file, String(process.pid));
        void fd;
        return async () => {
          await unlink(file).catch(() => {});
        };
      } catch {
        const holder = Number(await readFile(file, 'utf8').catch(() => '0'));
        if (!alive(holder) || holder === process.pid) {
          await unlink(file).catch(() => {});
          continue;
        }
        if (Date.now() > deadline) throw new Error(`lab: another process (pid ${holder}) holds ${file}`);
        await sleep(2000);
      }
    }
  }

  private async run(label: string, argv: string[], env?: Record<string, string>): Promise<void> {
    const log = this.p('logs', `${label.replace(/[^a-z0-9]+/gi, '-')}.log`);
    await mkdir(dirname(log), { recursive: true });
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, env, timeout: 45 * 60_000 });
    await writeFile(log, r.all ?? '');
    if (r.failed) {
      const tail = (r.all ?? '').trim().split('\n').slice(-25).join('\n');
      const hint = debianMirrorSyncHint(r.all ?? '', '--lab-debian-mirror');
      throw new Error(
        `lab: ${label} failed (exit ${r.exitCode ?? r.signal}); log: ${log}\n${tail}${hint ? `\nhint: ${hint}` : ''}`,
      );
    }
  }

  async prepareHost(): Promise<void> {
    if (process.platform !== 'linux')
      throw new Error('lab: the lab needs a Linux host (qemu-system-riscv64, binfmt_misc)');
    await this.progress.step('preparing the host (packages, binfmt_misc)', () =>
      this.run('host-prepare', ['bash', join(SCRIPTS, 'host-prepare.sh')]),
    );
  }

  private async ensureKeys(): Promise<string> {
    const dir = this.p('ssh');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [file, comment] of [
      ['id_ed25519', 'buildkit-acceptance-lab-client'],
      ['ssh_host_ed25519_key', 'buildkit-acceptance-lab-host'],
    ] as const) {
      if (!existsSync(join(dir, file))) {
        await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', join(dir, file)]);
      }
    }
    const pub = await readFile(join(dir, 'ssh_host_ed25519_key.pub'), 'utf8');
    const [type, key] = pub.split(/\s+/);
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${this.config.sshPort} ${type} ${key}\n`);
    return pub;
  }

  baseTar(debArch: string): string {
    return this.p('images', this.imagesKey, `${debArch}.tar`);
  }

  /** Where the Debian index the base trees (and so the VM disk) were made from is recorded. */
  get indexFile(): string {
    return this.p('images', this.imagesKey, 'debian-index.json');
  }

  /** The Debian index this cache was provisioned from, with the reason it was chosen. */
  debianIndex(): Promise<DebianIndex | undefined> {
    return readDebianIndex(this.indexFile);
  }

  private async ensureBaseRootfs(): Promise<void> {
    await mkdir(this.p('images', this.imagesKey), { recursive: true });
    const missing = BASE_PLATFORMS.filter((pl) => !existsSync(this.baseTar(pl.debArch)));
    if (missing.length === 0) return;
    const index = await this.progress.step(
      `checking Debian ${this.config.suite}'s index on ${this.config.mirror}`,
      () =>
        recordedDebianIndex(this.indexFile, {
          mirror: this.config.mirror,
          codename: this.config.suite,
          architectures: BASE_PLATFORMS.map((pl) => pl.debArch),
        }),
    );
    this.progress.say(`Debian index: ${index.reason}`);
    // riscv64 first: the VM image starts from it.
    const [first, ...rest] = missing.sort((a) => (a.debArch === 'riscv64' ? -1 : 1));
    const make = (debArch: string) =>
      this.progress.step(`debootstrap minbase ${this.config.suite}/${debArch}`, () =>
        this.run(`minbase-${debArch}`, [
          'bash',
          join(SCRIPTS, 'minbase-rootfs.sh'),
          debArch,
          index.name,
          this.config.suite,
          this.config.mirror,
          this.baseTar(debArch),
        ]),
      );
    if (first) await make(first.debArch);
    await Promise.all(rest.map((pl) => make(pl.debArch)));
  }

  vmDir(vmKey: string): string {
    return this.p('vm', vmKey);
  }

  private async ensureVmImage(vmKey: string): Promise<void> {
    const out = this.vmDir(vmKey);
    if (existsSync(join(out, 'disk.img'))) return;
    await mkdir(dirname(out), { recursive: true });
    await this.progress.step('building the VM disk (packages in a riscv64 chroot, kernel, initramfs)', () =>
      this.run('vm-image', [
        'bash',
        join(SCRIPTS, 'vm-image.sh'),
        this.baseTar('riscv64'),
        this.config.mirror,
        this.config.suite,
        out,
        this.p('ssh'),
        `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
        '20G',
        ...VM_PACKAGES,
      ]),
    );
  }

  private async registryUp(): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.config.registryPort}/v2/`, {
        signal: AbortSignal.timeout(2000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** The local registry (Debian's docker-registry) on 127.0.0.1, serving `library/debian:<suite>-slim`. */
  async ensureRegistry(): Promise<void> {
    const storage = this.p('registry', this.imagesKey);
    await mkdir(storage, { recursive: true });
    if (!(await this.registryUp())) {
      const configFile = this.p('registry', 'config.yml');
      await writeFile(
        configFile,
        [
          'version: 0.1',
          'log: { level: warn }',
          `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
          `http: { addr: "127.0.0.1:${this.config.registryPort}" }`,
          '',
        ].join('\n'),
      );
      await this.startDetached({
        what: 'the registry',
        argv: ['docker-registry', 'serve', configFile],
        log: 'registry.log',
        pidFile: this.p('registry', 'pid'),
        port: this.config.registryPort,
        timeoutMs: 20_000,
        up: () => this.registryUp(),
      });
    }
    const marker = join(storage, `pushed-${this.config.suite}-slim`);
    if (!existsSync(marker)) {
      await this.progress.step(
        `pushing debian:${this.config.suite}-slim (riscv64, amd64, arm64) to the lab registry`,
        async () => {
          await pushMultiPlatformImage(
            `127.0.0.1:${this.config.registryPort}`,
            'library/debian',
            `${this.config.suite}-slim`,
            BASE_PLATFORMS.map((pl) => ({
              os: 'linux' as const,
              architecture: pl.architecture,
              ...('variant' in pl ? { variant: pl.variant } : {}),
              tarPath: this.baseTar(pl.debArch),
            })),
          );
        },
      );
      await writeFile(marker, new Date().toISOString());
    }
  }

  private async debianMirrorServes(): Promise<string | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.config.debianMirrorPort}/_lab/snapshot`, {
        signal: AbortSignal.timeout(2000),
      });
      return res.ok ? (await res.text()).trim() : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The lab's Debian mirror on 127.0.0.1 (10.0.2.2 from the guest): the apt index the VM was provisioned
   * with, pinned, and the upstream pool verified against it (see debian-mirror.ts). Image builds in the
   * lab use it, so a Debian mirror caught mid-sync cannot break them.
   */
  async ensureDebianMirror(vmKey: string): Promise<void> {
    const snapshot = this.p('apt', vmKey, 'snapshot');
    const serving = await this.debianMirrorServes();
    if (serving === snapshot) return;
    if (serving !== undefined) await this.stopDebianMirror();
    if (!existsSync(join(snapshot, 'dists', this.config.suite, 'InRelease'))) {
      await this.progress.step("pinning the VM disk's apt index for the lab's Debian mirror", async () =>
        extractAptSnapshot(join(this.vmDir(vmKey), 'disk.img'), this.config.mirror, snapshot, {
          listedAs: (await this.debianIndex())?.name ?? this.config.suite,
          servedAs: this.config.suite,
        }).then(async () => {
          // The mirror says which index it pins and why, at /debian/debian-index.json.
          const index = await this.debianIndex();
          if (index)
            await writeFile(join(snapshot, 'debian-index.json'), `${JSON.stringify(index, null, 2)}\n`);
        }),
      );
    }
    const pool = this.p('apt', 'archive');
    await mkdir(pool, { recursive: true });
    await this.startDetached({
      what: 'the Debian mirror',
      argv: [
        process.execPath,
        '--import',
        'tsx',
        join(HERE, 'debian-mirror-main.ts'),
        snapshot,
        pool,
        this.config.mirror,
        String(this.config.debianMirrorPort),
      ],
      cwd: join(HERE, '..', '..'),
      log: 'debian-mirror.log',
      pidFile: this.p('apt', 'pid'),
      port: this.config.debianMirrorPort,
      timeoutMs: 30_000,
      up: async () => (await this.debianMirrorServes()) === snapshot,
    });
  }

  /**
   * Starts a lab service on the host as a detached process (it outlives this one; `lab down` stops it),
   * its output appended to logs/<log>, waits until `up` says it answers, and records its pid.
   */
  private async startDetached(o: {
    what: string;
    argv: string[];
    cwd?: string;
    log: string;
    pidFile: string;
    port: number;
    timeoutMs: number;
    up: () => Promise<boolean>;
  }): Promise<void> {
    const log = this.p('logs', o.log);
    const logFd = openSync(log, 'a');
    const child = spawn(o.argv[0]!, o.argv.slice(1), {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      cwd: o.cwd,
    });
    closeSync(logFd); // the child has its own copy
    child.on('error', () => {});
    child.unref();
    const deadline = Date.now() + o.timeoutMs;
    while (!(await o.up())) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`lab: ${o.what} did not answer on 127.0.0.1:${o.port}; see ${log}`);
      await sleep(300);
    }
    await writeFile(o.pidFile, String(child.pid));
  }

  private async stopDebianMirror(): Promise<void> {
    const pidFile = this.p('apt', 'pid');
    const pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
    if (pid && alive(pid) && cmdlineOf(pid).includes('debian-mirror-main')) await terminate(pid);
    await rm(pidFile, { force: true });
  }

  registryPlatforms(): Promise<string[]> {
    return registryPlatforms(
      `127.0.0.1:${this.config.registryPort}`,
      'library/debian',
      `${this.config.suite}-slim`,
    );
  }

  private async boot(vmKey: string): Promise<void> {
    const dir = this.instanceDir;
    const overlay = join(dir, 'overlay.qcow2');
    const previous = await this.readState();
    if (!existsSync(overlay) || previous?.vmKey !== vmKey) {
      await rm(overlay, { force: true });
      await execa('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-F',
        'raw',
        '-b',
        join(this.vmDir(vmKey), 'disk.img'),
        overlay,
      ]);
    }
    const vm = this.vmDir(vmKey);
    const pidFile = join(dir, 'qemu.pid');
    await rm(pidFile, { force: true });
    const console = join(dir, 'console.log');
    await rm(console, { force: true });
    await this.progress.step(
      `booting the VM (${this.config.cpus} vCPUs, ${this.config.memoryMiB} MiB)`,
      async () => {
        const r = await execa(
          'qemu-system-riscv64',
          [
            '-name',
            'buildkit-acceptance-lab',
            '-machine',
            'virt',
            '-accel',
            'tcg,thread=multi',
            '-smp',
            String(this.config.cpus),
            '-m',
            String(this.config.memoryMiB),
            '-bios',
            'default',
            '-kernel',
            join(vm, 'vmlinux'),
            '-initrd',
            join(vm, 'initrd.img'),
            '-append',
            'root=/dev/vda rw console=ttyS0 quiet systemd.show_status=0',
            '-drive',
            `file=${overlay},format=qcow2,if=virtio,cache=unsafe`,
            '-netdev',
            `user,id=n0,hostfwd=tcp:127.0.0.1:${this.config.sshPort}-:22`,
            '-device',
            'virtio-net-device,netdev=n0',
            '-device',
            'virtio-rng-device',
            '-display',
            'none',
            '-serial',
            `file:${console}`,
            '-pidfile',
            pidFile,
            '-daemonize',
          ],
          { reject: false, all: true },
        );
        if (r.failed) throw new Error(`lab: qemu-system-riscv64 did not start: ${(r.all ?? '').trim()}`);
        const qemuPid = Number((await readFile(pidFile, 'utf8')).trim());
        const registryPid = Number(await readFile(this.p('registry', 'pid'), 'utf8').catch(() => '0'));
        const state: LabState = {
          vmKey,
          qemuPid,
          registryPid,
          sshPort: this.config.sshPort,
          registryPort: this.config.registryPort,
          startedAt: new Date().toISOString(),
        };
        await writeFile(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
      },
    );
    const consoleTail = async () =>
      (await readFile(console, 'utf8').catch(() => '')).trim().split('\n').slice(-30).join('\n');
    const booted = performance.now();
    await this.progress.step('waiting for SSH', async () => {
      if (!(await this.ready(5 * 60_000, false))) {
        throw new Error(
          `lab: the VM did not answer SSH within 5 minutes; console tail:\n${await consoleTail()}`,
        );
      }
    });
    this.timings.sshReadyMs = performance.now() - booted;
    await this.progress.step('waiting for Docker in the VM', async () => {
      if (!(await this.ready(5 * 60_000, true))) {
        throw new Error(
          `lab: Docker in the VM did not answer within 5 minutes; console tail:\n${await consoleTail()}`,
        );
      }
    });
    this.timings.dockerReadyMs = performance.now() - booted;
  }

  /** How long the last boot took from qemu's start to SSH, and to Docker answering. */
  readonly timings: { sshReadyMs?: number; dockerReadyMs?: number } = {};

  /** SSH answers as the runner user (and, with `docker`, Docker in the VM answers). */
  async ready(timeoutMs: number, docker = true): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      const state = await this.readState();
      if (state && !alive(state.qemuPid)) return false;
      try {
        const target = await this.connect(Math.min(10_000, Math.max(1000, deadline - Date.now())));
        try {
          if (!docker) return true;
          const r = await target.exec(['docker', 'version', '--format', '{{.Server.Version}}'], {
            reject: false,
            timeoutMs: 20_000,
          });
          if (!r.failed) return true;
          lastError = r.stderr.trim();
        } finally {
          await target.close();
        }
      } catch (err) {
        lastError = errorMessage(err);
      }
      await sleep(2000);
    }
    if (lastError) this.progress.say(`not ready: ${lastError}`);
    return false;
  }

  /** Shuts the guest down cleanly (systemctl poweroff), then makes sure no qemu is left. */
  async down(): Promise<void> {
    const state = await this.readState();
    if (state) await this.stopVm(state, true);
    await this.stopRegistry();
    await this.stopDebianMirror();
    await rm(join(this.instanceDir, 'state.json'), { force: true });
  }

  private async stopVm(state: LabState, clean: boolean): Promise<void> {
    if (!alive(state.qemuPid)) return;
    if (clean) {
      try {
        const target = await this.connect(5000);
        await target.exec(['sudo', '-n', 'systemctl', 'poweroff'], { reject: false, timeoutMs: 10_000 });
        await target.close();
      } catch {
        // unreachable guest: fall through to signals
      }
      const deadline = Date.now() + 25_000;
      while (alive(state.qemuPid) && Date.now() < deadline) await sleep(300);
    }
    if (alive(state.qemuPid)) {
      process.kill(state.qemuPid, 'SIGTERM');
      const deadline = Date.now() + 5000;
      while (alive(state.qemuPid) && Date.now() < deadline) await sleep(200);
      if (alive(state.qemuPid)) process.kill(state.qemuPid, 'SIGKILL');
    }
  }

  private async stopRegistry(): Promise<void> {
    const pid = Number(await readFile(this.p('registry', 'pid'), 'utf8').catch(() => '0'));
    if (pid && alive(pid) && cmdlineOf(pid).includes('docker-registry')) await terminate(pid);
    await rm(this.p('registry', 'pid'), { force: true });
  }

  async destroy(): Promise<void> {
    await this.down();
    await rm(this.config.dir, { recursive: true, force: true });
  }

  async cacheSize(): Promise<string> {
    if (!existsSync(this.config.dir)) return '0';
    const r = await new LocalTarget().exec(['du', '-sh', '--apparent-size', this.config.dir], {
      reject: false,
    });
    const onDisk = await new LocalTarget().exec(['du', '-sh', this.config.dir], { reject: false });
    return `${onDisk.stdout.split('\t')[0]} on disk (${r.stdout.split('\t')[0]} apparent)`;
  }
}

/** The lab is the default target when none is given and this machine is not riscv64. */
export function needsLab(): boolean {
  return arch() !== 'riscv64';
}
