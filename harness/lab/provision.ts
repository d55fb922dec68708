/**
 * Provisioning what the cache lacks: the host's packages, the SSH keys, the three debootstrap'd base
 * trees (from the Debian index that debian-index.ts found consistent) and the VM disk made from the
 * riscv64 one. Each step runs a script of scripts/, its output kept in logs/ and its tail in the error.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { debianMirrorSyncHint } from '../../helpers/errors.ts';
import { killProcessGroup, lowestPriority } from '../target/process-tree.ts';
import { recordedDebianIndex } from './debian-index.ts';
import { DOCKER_FLAVOURS, DOCKER_PACKAGES, type DockerFlavour } from './docker-flavours.ts';
import { BASE_PLATFORMS, GUEST_HOST_ADDR, type LabLayout, SCRIPTS, VM_PACKAGES } from './layout.ts';
import type { Progress } from './progress.ts';

/** Process groups of background steps still running: killed when this process exits, however it exits. */
const BACKGROUND = new Set<number>();
let exitHookInstalled = false;

function killedOnExit(pid: number): void {
  BACKGROUND.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    // SIGTERM: the scripts' traps unmount what debootstrap mounted and remove their work dirs.
    for (const group of BACKGROUND) killProcessGroup(group, 'SIGTERM');
  });
}

export class Provisioner {
  constructor(
    private readonly layout: LabLayout,
    private readonly progress: Progress,
  ) {}

  private get config() {
    return this.layout.config;
  }

  /**
   * A step's script. `background`: what the lab's start does not wait for runs in a session of its own
   * whose autogroup is at nice 19, so it takes only the CPU the VM leaves idle (qemu runs in its own
   * session, and sessions share the CPU equally whatever their processes' nice). It is killed, whole,
   * when this process exits.
   */
  private async run(label: string, argv: string[], background = false): Promise<void> {
    const log = this.layout.p('logs', `${label.replace(/[^a-z0-9]+/gi, '-')}.log`);
    await mkdir(dirname(log), { recursive: true });
    const [file, args] = background ? lowestPriority(argv) : [argv[0]!, argv.slice(1)];
    const child = execa(file, args, { reject: false, all: true, timeout: 45 * 60_000, detached: background });
    const pid = background ? child.pid : undefined;
    if (pid) killedOnExit(pid);
    const r = await child;
    if (pid) BACKGROUND.delete(pid);
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

  /** The client key and the VM's host key (generated once per cache); returns the host key's public half. */
  async ensureKeys(): Promise<string> {
    const dir = this.layout.p('ssh');
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

  /**
   * Makes the riscv64 tree first (the VM disk starts from it) and returns with the other platforms' trees
   * still being made (`others`), so that the VM disk is built meanwhile.
   */
  async ensureBaseRootfs(): Promise<{ others: Promise<void>; pending: string[] }> {
    await mkdir(this.layout.p('images', this.layout.imagesKey), { recursive: true });
    const missing = BASE_PLATFORMS.filter((pl) => !existsSync(this.layout.baseTar(pl.debArch)));
    if (missing.length === 0) return { others: Promise.resolve(), pending: [] };
    const index = await this.progress.step(
      `checking Debian ${this.config.suite}'s index on ${this.config.mirror}`,
      () =>
        recordedDebianIndex(this.layout.indexFile, {
          mirror: this.config.mirror,
          codename: this.config.suite,
          architectures: BASE_PLATFORMS.map((pl) => pl.debArch),
        }),
    );
    this.progress.say(`Debian index: ${index.reason}`);
    // riscv64 first: the VM image starts from it.
    const [first, ...rest] = missing.sort((a) => (a.debArch === 'riscv64' ? -1 : 1));
    // The other platforms' trees are made in the background, with what the VM disk's build and then the VM
    // leave idle: the lab's start does not wait for them (measured on a fresh 2-core machine, they finished
    // 5 min after the VM was ready); only the checks that build for those platforms do (base-images.ts).
    const make = (debArch: string, background: boolean) =>
      this.progress.step(
        `debootstrap minbase ${this.config.suite}/${debArch}${background ? ' (in the background, at the lowest priority)' : ''}`,
        () =>
          this.run(
            `minbase-${debArch}`,
            [
              'bash',
              join(SCRIPTS, 'minbase-rootfs.sh'),
              debArch,
              index.name,
              this.config.suite,
              this.config.mirror,
              this.layout.baseTar(debArch),
            ],
            background,
          ),
      );
    if (first?.debArch === 'riscv64') await make(first.debArch, false);
    const later = first?.debArch === 'riscv64' ? rest : missing;
    const others = Promise.all(later.map((pl) => make(pl.debArch, true))).then(() => undefined);
    // Awaited by the caller (in the background); never an unhandled rejection meanwhile.
    others.catch(() => undefined);
    return { others, pending: later.map((pl) => pl.debArch) };
  }

  /** The flavour's VM disk, built or derived when missing; returns its key. */
  async ensureVmImage(hostKeyPub: string): Promise<string> {
    const vmKey = this.layout.vmKey(hostKeyPub);
    const out = this.layout.vmDir(vmKey);
    if (existsSync(join(out, 'disk.img'))) return vmKey;
    const base = this.layout.derivedFrom(hostKeyPub);
    if (!base) {
      await this.buildVmImage(out, this.layout.flavour);
      return vmKey;
    }
    await this.buildVmImage(this.layout.vmDir(base), DOCKER_FLAVOURS.trixie);
    await mkdir(dirname(out), { recursive: true });
    const store = this.layout.flavour.imageStore;
    await this.progress.step(`deriving the VM disk for Docker's ${store} image store`, () =>
      this.run('vm-flavour', [
        'bash',
        join(SCRIPTS, 'vm-flavour.sh'),
        this.layout.vmDir(base),
        out,
        `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
        store,
      ]),
    );
    return vmKey;
  }

  private async buildVmImage(out: string, flavour: DockerFlavour): Promise<void> {
    if (existsSync(join(out, 'disk.img'))) return;
    await mkdir(dirname(out), { recursive: true });
    const fromOther = flavour.suite !== this.config.suite;
    const docker: readonly string[] = DOCKER_PACKAGES;
    const what = fromOther ? `, Docker from ${flavour.suite}` : '';
    await this.progress.step(
      `building the VM disk (packages in a riscv64 chroot${what}, kernel, initramfs)`,
      () =>
        this.run('vm-image', [
          'bash',
          join(SCRIPTS, 'vm-image.sh'),
          this.layout.baseTar('riscv64'),
          this.config.mirror,
          this.config.suite,
          out,
          this.layout.p('ssh'),
          `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
          '20G',
          flavour.imageStore,
          fromOther ? flavour.suite : '-',
          fromOther ? DOCKER_PACKAGES.join(',') : '-',
          ...(fromOther ? VM_PACKAGES.filter((p) => !docker.includes(p)) : VM_PACKAGES),
        ]),
    );
  }
}
