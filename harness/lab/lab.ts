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
import { errorMessage } from '../../helpers/errors.ts';
import { janitor, leftovers } from '../docker/janitor.ts';
import { LAB_DOCKER_FLAVOURS, type LabConfig, type LabDockerFlavour } from '../plan/config.ts';
import { untilExit } from '../target/background-work.ts';
import { LocalTarget } from '../target/local-target.ts';
import type { SshTarget } from '../target/ssh-target.ts';
import type { BusyboxSources } from './busybox.ts';
import { type DebianIndex, readDebianIndex } from './debian-index.ts';
import { LabDebianMirror } from './debian-mirror-service.ts';
import type { DockerFlavour } from './docker-flavours.ts';
import { type LabEndpoint, LabLayout, sshArgs } from './layout.ts';
import { acquireLock } from './lock.ts';
import { alive } from './processes.ts';
import { Progress } from './progress.ts';
import { Provisioner } from './provision.ts';
import { type LabState, LabVm } from './qemu.ts';
import { type BackgroundWork, type BasesStatus, LabRegistry } from './registry.ts';
import { buildScanner, type ScannerBuild } from './scanner-image.ts';

export { BASE_PLATFORMS, LAB_USER, type LabEndpoint, VM_PACKAGES } from './layout.ts';
export type { LabState } from './qemu.ts';
export type { BasesStatus } from './registry.ts';

/** Base-image work a lab start of this process left running, by lab cache (any Lab object may wait). */
const PENDING = new Map<string, Promise<void>>();

export class Lab {
  readonly progress: Progress;
  private readonly layout: LabLayout;
  private readonly vm: LabVm;
  private readonly registry: LabRegistry;
  private readonly debianMirror: LabDebianMirror;
  private scanner: Promise<ScannerBuild> | undefined;

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

  /** The Docker this lab's VM runs (`--lab-docker`). */
  get dockerFlavour(): DockerFlavour {
    return this.layout.flavour;
  }

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
    const sources = await this.busyboxSources();
    await this.registry.ensureBusybox(sources);
    await this.registry.ensureRegistryImage(sources);
    await this.finishScanner();
  }

  /**
   * Pushes the SBOM scanner stand-in in the background when this build of it is not there: its build
   * takes minutes beside the VM disk's, and only the container phase's SBOM check needs it (it waits,
   * with a deadline, as the checks that need the other platforms' bases do). Recorded meanwhile where
   * `basesStatus('scanner')` reads it.
   */
  private async finishScanner(): Promise<void> {
    if (await this.registry.hasScanner()) return;
    // Another start (the CLI's, or a run's setup) is making it now: never two pushes of it at once.
    if ((await this.basesStatus('scanner'))?.state === 'making') return;
    const platforms = ['linux/riscv64'];
    const work = (async () => {
      try {
        await this.registry.recordBases(
          { state: 'making', platforms, since: new Date().toISOString(), pid: process.pid },
          'scanner',
        );
        await this.registry.ensureScanner(() => this.scannerBuild());
        await this.registry.recordBases(undefined, 'scanner');
      } catch (err) {
        await this.registry
          .recordBases({ state: 'failed', platforms, error: errorMessage(err) }, 'scanner')
          .catch(() => this.progress.say(`the SBOM scanner stand-in: ${errorMessage(err)}`));
      }
    })();
    const dir = this.config.dir;
    const before = PENDING.get(dir) ?? Promise.resolve();
    const both = untilExit(Promise.all([before, work]).then(() => undefined));
    PENDING.set(dir, both);
    void both.finally(() => {
      if (PENDING.get(dir) === both) PENDING.delete(dir);
    });
  }

  /**
   * The SBOM scanner stand-in's binaries (scanner-image.ts): started once per process, at the lowest CPU
   * priority, when the services start (beside the boot, after the VM disk): on a fresh machine, syft's
   * build beside the VM disk's made that take twice as long (docs/performance.md). Only the container
   * phase's SBOM check waits for it.
   */
  private scannerBuild(): Promise<ScannerBuild> {
    if (!this.scanner) {
      this.scanner = buildScanner(this.layout.p('scanner'));
      // Awaited by finishScanner's background push; never an unhandled rejection meanwhile.
      this.scanner.catch(() => undefined);
    }
    return this.scanner;
  }

  /**
   * Idempotent: provisions what the cache lacks, boots the VM, waits for SSH and Docker. Returns once
   * the VM, the Debian mirror and the registry (with riscv64 base images) serve; the other platforms'
   * base trees, when missing, are still being made then (minutes on a fresh machine) and pushed when
   * they are: `basesSettled()` waits for that, and only the phases that build for those platforms
   * wait for them (see harness/run/base-images.ts).
   */
  async up(): Promise<LabEndpoint> {
    await mkdir(this.layout.instanceDir, { recursive: true });
    const release = await acquireLock(join(this.layout.instanceDir, 'lock'));
    try {
      const provision = new Provisioner(this.layout, this.progress);
      await this.refuseOtherFlavour();
      const state = await this.vm.running();
      if (state && (await this.vm.ready(15_000))) {
        await this.services(state.vmKey);
        // What the cache lacks is made, unless a start (of this process or another) is making it now.
        if (!(await this.basesBeingMade()))
          this.finishBases(await provision.ensureBaseRootfs(), Promise.resolve(true));
        this.progress.say(`already running (qemu pid ${state.qemuPid}), SSH on 127.0.0.1:${state.sshPort}`);
        return this.endpoint();
      }
      if (state) {
        this.progress.say(`qemu pid ${state.qemuPid} runs but does not answer; restarting it`);
        await this.vm.stop(state, false);
      } else if (await this.vm.readState()) {
        this.progress.say('the lab VM had died (no qemu process); starting it again');
      }
      await provision.prepareHost();
      const hostKeyPub = await provision.ensureKeys();
      // The VM disk starts from the riscv64 tree; the amd64 and arm64 trees are made meanwhile and after.
      // Recorded as being made from now on (this process waits for them before it exits); pushed once
      // the registry this start runs is up (never two starts of it at once).
      let servicesUp: (up: boolean) => void = () => {};
      const registryUp = new Promise<boolean>((resolve) => {
        servicesUp = resolve;
      });
      this.finishBases(await provision.ensureBaseRootfs(), registryUp);
      try {
        const vmKey = await provision.ensureVmImage(hostKeyPub);
        // The services start beside the boot: the Debian mirror pins the VM disk's apt index.
        await Promise.all([this.vm.boot(vmKey), this.services(vmKey).then(() => servicesUp(true))]);
      } finally {
        servicesUp(false);
      }
      await this.sweepDeadRuns();
      return this.endpoint();
    } finally {
      await release();
    }
  }

  /**
   * A VM this start has just booted or resumed holds no live run: whatever runs labelled in it was left
   * by a run that died with the VM (CI's time limit stops the board rehearsal and the VM together).
   * Its builders' containers come back with the guest (restart policy) and would take the next run's
   * CPUs, so they are removed before the lab is handed out, and what was removed is said.
   */
  private async sweepDeadRuns(): Promise<void> {
    const vm = await this.connect();
    try {
      const found = await leftovers(vm);
      if (found.length === 0) return;
      await this.progress.step(
        `removing what dead runs left in the VM (${found.length > 19 ? 'many' : found.length}: ${found.slice(0, 3).join(', ')}${found.length > 3 ? ', ...' : ''})`,
        async () => {
          const report = await janitor(vm);
          if (report.failed.length) this.progress.say(`lab: could not remove ${report.failed.join('; ')}`);
        },
      );
    } finally {
      await vm.close();
    }
  }

  /** The VMs of the other Docker flavours that are running (there is at most one). */
  async otherFlavoursRunning(): Promise<{ docker: LabDockerFlavour; qemuPid: number }[]> {
    const running = [];
    for (const docker of LAB_DOCKER_FLAVOURS.filter((d) => d !== this.config.docker)) {
      const other = await new LabVm(new LabLayout({ ...this.config, docker }), this.progress).running();
      if (other) running.push({ docker, qemuPid: other.qemuPid });
    }
    return running;
  }

  /**
   * One lab VM at a time (they share the SSH, registry and mirror ports): a VM of another Docker flavour
   * still running is named, with the command that stops it, instead of being used in this one's place.
   */
  private async refuseOtherFlavour(): Promise<void> {
    const [other] = await this.otherFlavoursRunning();
    if (other)
      throw new Error(
        `lab: the lab's ${other.docker} VM is running (qemu pid ${other.qemuPid}); this run asks for ${this.config.docker}. Stop it first: buildkit-acceptance lab down --lab-docker ${other.docker}`,
      );
  }

  /**
   * Pushes the other platforms' base images once their trees are made, recording meanwhile that they
   * are being made (or why they failed) where `basesStatus()` reads it, from this process or another.
   */
  private finishBases(
    { others, pending }: { others: Promise<void>; pending: string[] },
    registryUp: Promise<boolean>,
  ): void {
    // Nothing missing: the registry has just been given every platform (services), so an earlier
    // start's record of a failure is stale.
    if (pending.length === 0) {
      void this.registry.recordBases(undefined).catch(() => undefined);
      return;
    }
    const platforms = pending.map((a) => `linux/${a}`);
    const dir = this.config.dir;
    const work = (async () => {
      try {
        await this.registry.recordBases({
          state: 'making',
          platforms,
          since: new Date().toISOString(),
          pid: process.pid,
        });
        await others;
        // A start that failed pushes nothing: the trees are kept, and the next start pushes them.
        if (await registryUp) await this.registry.ensure();
        await this.registry.recordBases(undefined);
      } catch (err) {
        // Never an unhandled rejection: the failure is what the checks that need them will say.
        await this.registry
          .recordBases({ state: 'failed', platforms, error: errorMessage(err) })
          .catch((e: unknown) =>
            this.progress.say(
              `base images for ${platforms.join(', ')}: ${errorMessage(err)} (${errorMessage(e)})`,
            ),
          );
      }
    })();
    PENDING.set(dir, untilExit(work));
    void work.finally(() => {
      if (PENDING.get(dir) === work) PENDING.delete(dir);
    });
  }

  /** Whether a lab start, of this process or another that is alive, is making the base images now. */
  private async basesBeingMade(): Promise<boolean> {
    if (PENDING.has(this.config.dir)) return true;
    return (await this.basesStatus())?.state === 'making';
  }

  /** Waits for the base images a start left being made (never rejects: a failure is in basesStatus). */
  basesSettled(): Promise<void> {
    return PENDING.get(this.config.dir) ?? Promise.resolve();
  }

  /** How the background work on the base images stands; undefined when none is pending or failed. */
  async basesStatus(work: BackgroundWork = 'bases'): Promise<BasesStatus | undefined> {
    const status = await this.registry.basesStatus(work);
    // A start that was killed while making them left 'making' behind: the next start makes them again.
    if (status?.state === 'making' && !alive(status.pid))
      return { state: 'failed', platforms: status.platforms, error: 'the lab start making them has exited' };
    return status;
  }

  /**
   * Shuts the guest down cleanly (systemctl poweroff; with warm starts on, hibernates it instead), then
   * makes sure no qemu or lab service is left. Holds the lab's lock, as `up` does.
   */
  async down(): Promise<void> {
    await this.basesSettled();
    // Under the start's lock: a start in another process meanwhile would find qemu not answering (it is
    // being hibernated), kill it and resume a state still being written; it waits for this instead.
    await mkdir(this.layout.instanceDir, { recursive: true });
    const release = await acquireLock(join(this.layout.instanceDir, 'lock'));
    try {
      const state = await this.vm.readState();
      if (state && !(await this.vm.hibernate(state))) await this.vm.stop(state, true);
      await this.registry.stop();
      await this.debianMirror.stop();
      await this.vm.forget();
    } finally {
      await release();
    }
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
