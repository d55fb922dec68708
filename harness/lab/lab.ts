/**
 * The lab: Debian trixie riscv64 under qemu-system-riscv64, provisioned like the real runner, reached
 * over SSH on a loopback port with a pinned host key, plus a local registry with base images and a
 * Debian mirror pinned to the index the VM was provisioned from. This façade owns the order; each part
 * is a module of its own: layout.ts (cache and keys), provision.ts (host, keys, base trees, VM disk),
 * registry.ts, debian-mirror-service.ts, qemu.ts (the VM), detached.ts, lock.ts, processes.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import type { LabConfig } from '../config.ts';
import { LocalTarget } from '../local-target.ts';
import type { SshTarget } from '../ssh-target.ts';
import type { BusyboxSources } from './busybox.ts';
import { type DebianIndex, readDebianIndex } from './debian-index.ts';
import { LabDebianMirror } from './debian-mirror-service.ts';
import { type LabEndpoint, LabLayout, sshArgs } from './layout.ts';
import { acquireLock } from './lock.ts';
import { Progress } from './progress.ts';
import { Provisioner } from './provision.ts';
import { type LabState, LabVm } from './qemu.ts';
import { LabRegistry } from './registry.ts';

export { BASE_PLATFORMS, LAB_USER, type LabEndpoint, VM_PACKAGES } from './layout.ts';
export type { LabState } from './qemu.ts';

export class Lab {
  readonly progress: Progress;
  private readonly layout: LabLayout;
  private readonly vm: LabVm;
  private readonly registry: LabRegistry;
  private readonly debianMirror: LabDebianMirror;

  constructor(
    readonly config: LabConfig,
    options: { quiet?: boolean } = {},
  ) {
    this.progress = new Progress('lab', options.quiet);
    this.layout = new LabLayout(config);
    this.vm = new LabVm(this.layout, this.progress);
    this.registry = new LabRegistry(this.layout, this.progress);
    this.debianMirror = new LabDebianMirror(this.layout, this.progress);
  }

  static sshArgs = sshArgs;

  get timings(): LabVm['timings'] {
    return this.vm.timings;
  }

  endpoint(): Promise<LabEndpoint> {
    return this.layout.endpoint();
  }

  readState(): Promise<LabState | undefined> {
    return this.vm.readState();
  }

  /** The recorded state when its qemu process is alive and is ours. */
  running(): Promise<LabState | undefined> {
    return this.vm.running();
  }

  connect(timeoutMs = 10_000): Promise<SshTarget> {
    return this.vm.connect(timeoutMs);
  }

  ready(timeoutMs: number, docker = true): Promise<boolean> {
    return this.vm.ready(timeoutMs, docker);
  }

  /** The Debian index this cache was provisioned from, with the reason it was chosen. */
  debianIndex(): Promise<DebianIndex | undefined> {
    return readDebianIndex(this.layout.indexFile);
  }

  /** The platforms the lab registry serves for an image (the debian stand-in unless named). */
  registryPlatforms(repository?: string, tag?: string): Promise<string[]> {
    return this.registry.platforms(repository, tag);
  }

  /** Where the busybox stand-in's packages come from: the lab's mirror, and the recorded upstream index. */
  private async busyboxSources(): Promise<BusyboxSources> {
    return {
      mirror: (await this.endpoint()).debianMirrorFromHost,
      suite: this.layout.config.suite,
      index: await readDebianIndex(this.layout.indexFile),
    };
  }

  /** The registry (with its stand-ins) and the Debian mirror, started when not running. */
  private async services(vmKey: string): Promise<void> {
    await this.registry.ensure();
    await this.debianMirror.ensure(vmKey);
    await this.registry.ensureBusybox(await this.busyboxSources());
  }

  /** Idempotent: provisions what the cache lacks, boots the VM, waits for SSH and Docker. */
  async up(): Promise<LabEndpoint> {
    await mkdir(this.layout.instanceDir, { recursive: true });
    const release = await acquireLock(join(this.layout.instanceDir, 'lock'));
    try {
      const state = await this.vm.running();
      if (state && (await this.vm.ready(15_000))) {
        await this.services(state.vmKey);
        this.progress.say(`already running (qemu pid ${state.qemuPid}), SSH on 127.0.0.1:${state.sshPort}`);
        return this.endpoint();
      }
      if (state) {
        this.progress.say(`qemu pid ${state.qemuPid} runs but does not answer; restarting it`);
        await this.vm.stop(state, false);
      } else if (await this.vm.readState()) {
        this.progress.say('the lab VM had died (no qemu process); starting it again');
      }
      const provision = new Provisioner(this.layout, this.progress);
      await provision.prepareHost();
      const hostKeyPub = await provision.ensureKeys();
      // The amd64 and arm64 trees (for the registry's stand-ins) are made while the VM disk is built, and
      // the VM boots as soon as its disk is made. The host's services (the registry serves those trees)
      // start once they are (nothing in the VM needs them before a test runs). A failure of either fails
      // the start, after both have settled.
      const { others } = await provision.ensureBaseRootfs();
      const vmKey = this.layout.vmKey(hostKeyPub);
      const started = await Promise.allSettled([
        others.then(() => this.services(vmKey)),
        provision.ensureVmImage(vmKey).then(() => this.vm.boot(vmKey)),
      ]);
      for (const r of started) if (r.status === 'rejected') throw r.reason;
      return this.endpoint();
    } finally {
      await release();
    }
  }

  /**
   * Shuts the guest down cleanly (systemctl poweroff; with warm starts on, hibernates it instead), then
   * makes sure no qemu or lab service is left.
   */
  async down(): Promise<void> {
    const state = await this.vm.readState();
    if (state && !(await this.vm.hibernate(state))) await this.vm.stop(state, true);
    await this.registry.stop();
    await this.debianMirror.stop();
    await this.vm.forget();
  }

  /** Forgets a hibernated VM state: the next `up` boots (measured by the bench). */
  dropSnapshots(): Promise<void> {
    return this.vm.dropSnapshots();
  }

  async destroy(): Promise<void> {
    await this.down();
    await rm(this.config.dir, { recursive: true, force: true });
  }

  async cacheSize(): Promise<string> {
    if (!existsSync(this.config.dir)) return '0';
    const local = new LocalTarget();
    const apparent = await local.exec(['du', '-sh', '--apparent-size', this.config.dir], { reject: false });
    const onDisk = await local.exec(['du', '-sh', this.config.dir], { reject: false });
    return `${onDisk.stdout.split('\t')[0]} on disk (${apparent.stdout.split('\t')[0]} apparent)`;
  }
}

/** The lab is the default target when none is given and this machine is not riscv64. */
export function needsLab(): boolean {
  return arch() !== 'riscv64';
}
