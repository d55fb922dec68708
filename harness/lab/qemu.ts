/**
 * The VM under qemu-system-riscv64: booted from a qcow2 overlay over the cached disk (never writing the
 * cache; the overlay, and so Docker's store and build cache in the VM, lasts across `lab down`/`up`),
 * daemonized with its pid, console and monitor socket in instance/, waited for until SSH and Docker
 * answer. Shut down cleanly (poweroff over SSH) or, failing that, by signals; with warm starts on,
 * hibernated instead (snapshot.ts) and resumed by the next start.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { errorMessage } from '../../helpers/errors.ts';
import { engineProblem, probeEngine } from '../docker/docker-engine.ts';
import { runEnv } from '../plan/run-env.ts';
import { SSH_DEFAULTS, SshTarget } from '../target/ssh-target.ts';
import { Hmp } from './hmp.ts';
import { LAB_USER, type LabLayout } from './layout.ts';
import { alive, cmdlineOf, sleep, terminate } from './processes.ts';
import type { Progress } from './progress.ts';
import { IDLE_BUSY_SHARE, waitSettled } from './settle.ts';
import { LAB_CPU, LabSnapshot, setGuestClock } from './snapshot.ts';

/** How long a booted guest is given to settle before a run, and a running one before it is hibernated. */
const BOOT_SETTLE_MS = 10 * 60_000;
const HIBERNATE_SETTLE_MS = 3 * 60_000;

/** Warm starts (hibernate on `lab down`, resume on `lab up`): on unless BKA_LAB_RESUME=0. */
export const warmStarts = () => runEnv('labResume') !== '0';

export interface LabState {
  vmKey: string;
  qemuPid: number;
  sshPort: number;
  registryPort: number;
  startedAt: string;
}

export class LabVm {
  /** How long the last boot took from qemu's start to SSH, and to Docker answering. */
  readonly timings: {
    sshReadyMs?: number;
    dockerReadyMs?: number;
    settleMs?: number;
    resumed?: boolean;
    saveMs?: number;
  } = {};

  constructor(
    private readonly layout: LabLayout,
    private readonly progress: Progress,
  ) {}

  private get stateFile(): string {
    return join(this.layout.instanceDir, 'state.json');
  }

  async readState(): Promise<LabState | undefined> {
    try {
      return JSON.parse(await readFile(this.stateFile, 'utf8')) as LabState;
    } catch {
      return undefined;
    }
  }

  /** The recorded state when its qemu process is alive and is ours. */
  async running(): Promise<LabState | undefined> {
    const state = await this.readState();
    if (!state || !alive(state.qemuPid) || !cmdlineOf(state.qemuPid).includes('qemu-system-riscv64'))
      return undefined;
    return state;
  }

  /** Connects through the harness's SSH target, the host key pinned. */
  async connect(timeoutMs = 10_000): Promise<SshTarget> {
    const ep = await this.layout.endpoint();
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

  private get monitorSocket(): string {
    return join(this.layout.instanceDir, 'monitor.sock');
  }

  private get hibernation(): LabSnapshot {
    const { cpus, memoryMiB } = this.layout.config;
    return new LabSnapshot(this.layout.instanceDir, { cpus, memoryMiB });
  }

  private qemuArgs(vmKey: string, overlay: string, console: string, pidFile: string): string[] {
    const { cpus, memoryMiB, sshPort } = this.layout.config;
    const vm = this.layout.vmDir(vmKey);
    return [
      ...['-monitor', `unix:${this.monitorSocket},server=on,wait=off`],
      ...['-name', 'buildkit-acceptance-lab', '-machine', 'virt', '-accel', 'tcg,thread=multi'],
      ...['-cpu', LAB_CPU],
      ...['-smp', String(cpus), '-m', String(memoryMiB), '-bios', 'default'],
      ...['-kernel', join(vm, 'vmlinux'), '-initrd', join(vm, 'initrd.img')],
      ...['-append', 'root=/dev/vda rw console=ttyS0 quiet systemd.show_status=0'],
      ...['-drive', `file=${overlay},format=qcow2,if=virtio,cache=unsafe`],
      ...[
        '-netdev',
        `user,id=n0,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
        '-device',
        'virtio-net-device,netdev=n0',
      ],
      ...['-device', 'virtio-rng-device', '-display', 'none', '-serial', `file:${console}`],
      ...['-pidfile', pidFile, '-daemonize'],
    ];
  }

  /**
   * Resumes the VM hibernated by the last `lab down` (seconds) when warm starts are on and its state is
   * there, else boots it from its overlay.
   */
  async boot(vmKey: string): Promise<void> {
    const hibernated = this.hibernation;
    if (warmStarts() && (await hibernated.usable(vmKey))) {
      const resumed = await this.resume(vmKey, hibernated).catch((err: unknown) => errorMessage(err));
      if (resumed === true) return;
      this.progress.say(`could not resume the hibernated VM (${resumed}); booting it`);
      const state = await this.readState();
      if (state) await terminate(state.qemuPid);
    }
    await hibernated.remove();
    const overlay = join(this.layout.instanceDir, 'overlay.qcow2');
    const previous = await this.readState();
    if (!existsSync(overlay) || previous?.vmKey !== vmKey) {
      await rm(overlay, { force: true });
      const base = join(this.layout.vmDir(vmKey), 'disk.img');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, overlay]);
    }
    await this.start(vmKey, overlay, 'booting the VM', []);
    this.timings.resumed = false;
    await this.waitReady(['SSH', 'Docker in the VM']);
    // A booted guest keeps working for a while (first-boot units, Docker's first start): a run, or a
    // hibernation, starts once it has settled.
    const t0 = performance.now();
    await this.settle(BOOT_SETTLE_MS);
    this.timings.settleMs = performance.now() - t0;
  }

  /**
   * Waits (up to `timeoutMs`) until the guest has no boot job left and its CPUs are mostly idle; says
   * what it saw when it did not settle. True when settled.
   */
  private async settle(timeoutMs: number): Promise<boolean> {
    const guest = await this.connect();
    try {
      const minutes = Math.round(timeoutMs / 60_000);
      const result = await this.progress.step(
        `waiting for the guest to settle (no systemd job queued, CPUs under ${IDLE_BUSY_SHARE * 100} % busy; up to ${minutes} min)`,
        () => waitSettled(guest, timeoutMs),
      );
      if (!result.settled)
        this.progress.say(`the guest did not settle within ${minutes} min: ${result.last}`);
      return result.settled;
    } finally {
      await guest.close();
    }
  }

  /** Starts qemu on the overlay from the hibernated state, sets the guest clock, waits for Docker. */
  private async resume(vmKey: string, hibernated: LabSnapshot): Promise<true> {
    const overlay = join(this.layout.instanceDir, 'overlay.qcow2');
    await this.start(vmKey, overlay, 'resuming the hibernated VM', [
      '-incoming',
      `exec:cat '${hibernated.stateFile.replace(/'/g, "'\\''")}'`,
    ]);
    const t0 = performance.now();
    // The state was saved from a stopped VM, and the loaded VM stays stopped: continue it once loaded.
    const hmp = await Hmp.open(this.monitorSocket);
    try {
      const deadlines = await hibernated.continueLoaded(hmp);
      this.progress.say(
        `re-armed each hart's timer (deadlines in ticks from mtime: ${deadlines.join(', ')})`,
      );
    } finally {
      hmp.close();
    }
    // Running on: the disk has moved past the saved state, which can never be loaded again.
    await hibernated.remove();
    await this.progress.step('waiting for SSH and setting the guest clock', async () => {
      // A resumed guest answers within seconds; one that does not is not waited for: the VM boots instead.
      if (!(await this.ready(20_000, false))) throw new Error('SSH did not answer within 20 s of the resume');
      const guest = await this.connect();
      try {
        const behind = await setGuestClock(guest);
        this.progress.say(
          `the guest clock was ${(behind / 1000).toFixed(0)} s behind; set to this machine's`,
        );
      } finally {
        await guest.close();
      }
    });
    this.timings.sshReadyMs = performance.now() - t0;
    await this.waitReady(['Docker in the VM'], t0);
    this.timings.resumed = true;
    return true;
  }

  /**
   * With warm starts on, saves the running VM beside its overlay and quits qemu (true); false when warm
   * starts are off or the save failed (the caller then powers it off).
   */
  async hibernate(state: LabState): Promise<boolean> {
    if (!warmStarts() || !alive(state.qemuPid)) return false;
    const t0 = performance.now();
    const hibernated = this.hibernation;
    try {
      await this.progress.step('hibernating the VM (warm starts)', async () => {
        // Never a save of a guest still at work (a first boot's units, a build): it would resume mid-way.
        if (!(await this.settle(HIBERNATE_SETTLE_MS))) throw new Error('the guest is still busy');
        const hmp = await Hmp.open(this.monitorSocket);
        const guest = await this.connect(5000);
        try {
          await hibernated.save(hmp, guest, state.vmKey);
        } finally {
          await guest.close();
        }
        // quit closes the monitor without a prompt: qemu's exit is what is waited for.
        hmp.send('quit');
        const deadline = Date.now() + 30_000;
        while (alive(state.qemuPid) && Date.now() < deadline) await sleep(200);
        hmp.close();
        if (alive(state.qemuPid)) throw new Error('qemu did not quit within 30 s');
      });
      this.timings.saveMs = performance.now() - t0;
      return true;
    } catch (err) {
      this.progress.say(`could not hibernate the VM (the next start boots): ${errorMessage(err)}`);
      await hibernated.remove();
      if (alive(state.qemuPid)) {
        // A VM stopped for the save runs on, so that it can be powered off cleanly.
        await Hmp.open(this.monitorSocket)
          .then(async (hmp) => {
            await hmp.run('cont').catch(() => '');
            hmp.close();
          })
          .catch(() => undefined);
      }
      return false;
    }
  }

  private async start(vmKey: string, overlay: string, what: string, extra: string[]): Promise<void> {
    const dir = this.layout.instanceDir;
    const pidFile = join(dir, 'qemu.pid');
    const console = join(dir, 'console.log');
    await rm(pidFile, { force: true });
    await rm(console, { force: true });
    await rm(this.monitorSocket, { force: true });
    const { cpus, memoryMiB, sshPort, registryPort } = this.layout.config;
    await this.progress.step(`${what} (${cpus} vCPUs, ${memoryMiB} MiB)`, async () => {
      const r = await execa(
        'qemu-system-riscv64',
        [...this.qemuArgs(vmKey, overlay, console, pidFile), ...extra],
        { reject: false, all: true },
      );
      if (r.failed) throw new Error(`lab: qemu-system-riscv64 did not start: ${(r.all ?? '').trim()}`);
      const state: LabState = {
        vmKey,
        qemuPid: Number((await readFile(pidFile, 'utf8')).trim()),
        sshPort,
        registryPort,
        startedAt: new Date().toISOString(),
      };
      await writeFile(this.stateFile, `${JSON.stringify(state, null, 2)}\n`);
    });
  }

  /** Waits for each of SSH and Docker (5 minutes each), recording when each answered. */
  private async waitReady(
    what: ReadonlyArray<'SSH' | 'Docker in the VM'>,
    since = performance.now(),
  ): Promise<void> {
    const console = join(this.layout.instanceDir, 'console.log');
    const consoleTail = async () =>
      (await readFile(console, 'utf8').catch(() => '')).trim().split('\n').slice(-30).join('\n');
    for (const w of what) {
      const docker = w !== 'SSH';
      await this.progress.step(`waiting for ${w}`, async () => {
        if (!(await this.ready(5 * 60_000, docker)))
          throw new Error(`lab: ${w} did not answer within 5 minutes; console tail:\n${await consoleTail()}`);
      });
      this.timings[docker ? 'dockerReadyMs' : 'sshReadyMs'] = performance.now() - since;
    }
  }

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
          // Slow is told from refused, as the preflight does: a busy guest is asked again until the deadline.
          const answer = await probeEngine(target);
          if (answer.state === 'answered') return true;
          lastError = engineProblem(answer, target.host, LAB_USER);
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

  /** Powers the guest off over SSH when `clean` (25 s for it), then signals whatever qemu is left. */
  async stop(state: LabState, clean: boolean): Promise<void> {
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
    await terminate(state.qemuPid);
  }

  /** Forgets a hibernated state: the next start boots. */
  async dropSnapshots(): Promise<void> {
    await this.hibernation.remove();
    // States saved by earlier versions, beside each VM disk.
    for (const key of await readdir(this.layout.p('vm')).catch(() => [] as string[]))
      for (const f of ['ready.state', 'ready.qcow2', 'ready.json'])
        await rm(join(this.layout.vmDir(key), f), { force: true });
  }

  async forget(): Promise<void> {
    await rm(this.stateFile, { force: true });
  }
}
