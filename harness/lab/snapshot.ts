/**
 * The lab's warm start (#15): hibernation. With warm starts on, `lab down` saves the running VM (its
 * RAM and devices, `migrate` to a file) beside the overlay it runs on, and quits qemu; the next `lab up`
 * starts qemu on that same overlay with `-incoming` from the file, re-arms each hart's timer
 * (gdb-timers.ts), lets it run, and sets the guest's clock to the host's before anything reads it: a
 * resumed guest wakes at the instant it was saved, with its disk, Docker's image store and build cache
 * as they were. The clock is set through a template unit (`lab-clock@<epoch>.service`, linked from the
 * runner's home) that the runner may start with its sudo for systemctl, as on the board. A state that
 * does not resume is removed and the VM boots from the same overlay (synced before the save).
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { SshTarget } from '../target/ssh-target.ts';
import { rearmTimers } from './gdb-timers.ts';
import type { Hmp } from './hmp.ts';

export const CLOCK_UNIT = 'lab-clock@.service';

/**
 * The VM's CPU. Without Sstc: a hart's stimecmp timer is not re-armed when qemu loads a saved state
 * (ktock/qemu-wasm#5 is a fork's fix), so the guest programs its timer through SBI, whose ACLINT timer
 * is part of the saved state.
 */
export const LAB_CPU = 'rv64,sstc=false';

const UNIT = `[Unit]
Description=Set the clock to the host's after the lab VM resumes from its snapshot (buildkit-acceptance)

[Service]
Type=oneshot
ExecStart=/bin/date -u -s @%i
`;

interface Meta {
  vmKey: string;
  cpu: string;
  cpus: number;
  memoryMiB: number;
  qemu: string;
  savedAt: string;
}

export class LabSnapshot {
  /** `dir`: the instance dir, where the overlay the state belongs to lives. */
  constructor(
    private readonly dir: string,
    private readonly machine: { cpus: number; memoryMiB: number },
  ) {}

  get stateFile(): string {
    return join(this.dir, 'hibernated.state');
  }

  private get metaFile(): string {
    return join(this.dir, 'hibernated.json');
  }

  /** Saved from this VM, machine shape and qemu (a state file only loads into the same). */
  async usable(vmKey: string): Promise<boolean> {
    if (!existsSync(this.stateFile) || !existsSync(join(this.dir, 'overlay.qcow2'))) return false;
    try {
      const meta = JSON.parse(await readFile(this.metaFile, 'utf8')) as Meta;
      return (
        meta.vmKey === vmKey &&
        meta.cpu === LAB_CPU &&
        meta.cpus === this.machine.cpus &&
        meta.memoryMiB === this.machine.memoryMiB &&
        meta.qemu === (await qemuVersion())
      );
    } catch {
      return false;
    }
  }

  /**
   * Saves the running VM of `vmKey`: links the clock unit, syncs the guest's disks, stops the VM and
   * writes its state. The VM stays stopped: the caller quits qemu, and the overlay stays as it is.
   */
  async save(hmp: Hmp, guest: SshTarget, vmKey: string): Promise<void> {
    const home = (await guest.exec(['sh', '-c', 'echo "$HOME"'])).stdout.trim();
    await guest.exec(['mkdir', '-p', `${home}/.lab`]);
    await guest.writeFile(`${home}/.lab/${CLOCK_UNIT}`, UNIT);
    await guest.exec(['sudo', '-n', 'systemctl', 'link', `${home}/.lab/${CLOCK_UNIT}`]);
    await guest.exec(['sudo', '-n', 'systemctl', 'daemon-reload']);
    await guest.exec(['sync']);
    const tmpState = `${this.stateFile}.tmp`;
    await hmp.run('stop');
    const out = await hmp.run(`migrate "exec:cat > '${tmpState}'"`, 10 * 60_000);
    const info = await hmp.run('info migrate');
    if (!/Migration status:\s*completed/.test(info))
      throw new Error(`the VM's state was not saved: ${out} ${info.split('\n').slice(0, 3).join(' ')}`);
    await rename(tmpState, this.stateFile);
    const meta: Meta = {
      vmKey,
      cpu: LAB_CPU,
      ...this.machine,
      qemu: await qemuVersion(),
      savedAt: new Date().toISOString(),
    };
    await writeFile(this.metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  }

  /**
   * Waits until qemu has loaded the state (`-incoming`), re-arms every hart's timer (gdb-timers.ts),
   * then lets the VM run. Returns each hart's timer deadline relative to mtime, in ticks.
   */
  async continueLoaded(hmp: Hmp, timeoutMs = 120_000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await hmp.run('info migrate');
      const status = /Migration status:\s*(\S+)/.exec(info)?.[1] ?? 'none';
      if (status === 'completed') break;
      if (status === 'failed' || Date.now() > deadline)
        throw new Error(`qemu did not load the saved state (migration status ${status})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const deadlines = await rearmTimers(hmp, this.machine.cpus);
    await hmp.run('cont');
    const state = await hmp.run('info status');
    if (!/running/.test(state)) throw new Error(`the resumed VM does not run: ${state.trim()}`);
    return deadlines;
  }

  async remove(): Promise<void> {
    for (const f of [this.stateFile, this.metaFile, `${this.stateFile}.tmp`]) await rm(f, { force: true });
  }
}

/** Sets the guest's clock to this machine's; returns how far it was behind, in ms. */
export async function setGuestClock(guest: SshTarget): Promise<number> {
  const before = Number((await guest.exec(['date', '+%s%3N'], { timeoutMs: 10_000 })).stdout.trim());
  const epoch = Math.round(Date.now() / 1000);
  await guest.exec(['sudo', '-n', 'systemctl', 'start', CLOCK_UNIT.replace('@', `@${epoch}`)], {
    context: "setting the resumed lab VM's clock",
    timeoutMs: 15_000,
  });
  const after = Number((await guest.exec(['date', '+%s%3N'], { timeoutMs: 10_000 })).stdout.trim());
  if (Math.abs(after - Date.now()) > 5000)
    throw new Error(`the guest clock is ${after - Date.now()} ms off after setting it`);
  return Date.now() - before;
}

let version: Promise<string> | undefined;
function qemuVersion(): Promise<string> {
  version ??= execa('qemu-system-riscv64', ['--version']).then((r) => r.stdout.split('\n')[0] ?? '');
  return version;
}
