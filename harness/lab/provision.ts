/**
 * Provisioning what the cache lacks: the host's packages, the SSH keys, the three debootstrap'd base
 * trees (from the Debian index that debian-index.ts found consistent) and the VM disk made from the
 * riscv64 one. Each step runs a script of scripts/, its output kept in logs/ and its tail in the error.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { debianMirrorSyncHint } from '../errors.ts';
import { recordedDebianIndex } from './debian-index.ts';
import { BASE_PLATFORMS, GUEST_HOST_ADDR, type LabLayout, SCRIPTS, VM_PACKAGES } from './layout.ts';
import type { Progress } from './progress.ts';

export class Provisioner {
  constructor(
    private readonly layout: LabLayout,
    private readonly progress: Progress,
  ) {}

  private get config() {
    return this.layout.config;
  }

  private async run(label: string, argv: string[]): Promise<void> {
    const log = this.layout.p('logs', `${label.replace(/[^a-z0-9]+/gi, '-')}.log`);
    await mkdir(dirname(log), { recursive: true });
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, timeout: 45 * 60_000 });
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
  async ensureBaseRootfs(): Promise<{ others: Promise<void> }> {
    await mkdir(this.layout.p('images', this.layout.imagesKey), { recursive: true });
    const missing = BASE_PLATFORMS.filter((pl) => !existsSync(this.layout.baseTar(pl.debArch)));
    if (missing.length === 0) return { others: Promise.resolve() };
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
    // The other platforms' trees are made beside the VM disk, at the same priority: measured on a fresh
    // 2-core machine, making them at nice 19 let the VM boot 1 min earlier but finished them 5 min later
    // (the registry serves them, so the lab's start waits for them).
    const make = (debArch: string) =>
      this.progress.step(`debootstrap minbase ${this.config.suite}/${debArch}`, () =>
        this.run(`minbase-${debArch}`, [
          'bash',
          join(SCRIPTS, 'minbase-rootfs.sh'),
          debArch,
          index.name,
          this.config.suite,
          this.config.mirror,
          this.layout.baseTar(debArch),
        ]),
      );
    if (first?.debArch === 'riscv64') await make(first.debArch);
    const others = Promise.all(
      (first?.debArch === 'riscv64' ? rest : missing).map((pl) => make(pl.debArch)),
    ).then(() => undefined);
    // Awaited by the caller once the VM disk is made; never an unhandled rejection meanwhile.
    others.catch(() => undefined);
    return { others };
  }

  async ensureVmImage(vmKey: string): Promise<void> {
    const out = this.layout.vmDir(vmKey);
    if (existsSync(join(out, 'disk.img'))) return;
    await mkdir(dirname(out), { recursive: true });
    await this.progress.step('building the VM disk (packages in a riscv64 chroot, kernel, initramfs)', () =>
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
        ...VM_PACKAGES,
      ]),
    );
  }
}
