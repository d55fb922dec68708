import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { probeFacts } from '../../harness/docker/facts.ts';
import { BUSYBOX_REPOSITORY, BUSYBOX_TAG } from '../../harness/lab/busybox.ts';
import { Lab } from '../../harness/lab/lab.ts';
import { loadConfig } from '../../harness/plan/config.ts';
import { LocalTarget } from '../../harness/target/local-target.ts';
import { ResourceTracker } from '../../harness/target/resources.ts';
import type { SshTarget } from '../../harness/target/ssh-target.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const unavailable = labUnavailable();
const test = testNeeding(unavailable);
const config = loadConfig();
const lab = new Lab(config.lab);

describe('lab', () => {
  let target: SshTarget;
  let resources: ResourceTracker;

  beforeAll(async () => {
    if (unavailable) return;
    await lab.up();
    target = await lab.connect();
    resources = new ResourceTracker(target);
  });
  afterAll(async () => {
    await resources?.cleanup();
    await target?.close();
  });

  test('uname -m through the harness is riscv64, as the unprivileged runner user', async () => {
    const r = await target.exec(['sh', '-c', 'uname -m; id -un; id -Gn']);
    const [arch, user, groups] = r.stdout.trim().split('\n');
    expect(arch).toBe('riscv64');
    expect(user).toBe('runner');
    expect(groups?.split(' ')).toContain('docker');
  });

  test('lab ssh -- COMMAND runs argv as given in the VM and exits with its status', async () => {
    const r = await execa(
      process.execPath,
      [
        join(ROOT, 'bin', 'buildkit-acceptance.mjs'),
        'lab',
        'ssh',
        '--',
        'sh',
        '-c',
        'printf "%s|" "$@"; exit 7',
        'sh',
        'one two',
        "it's",
      ],
      { reject: false, timeout: 60_000 },
    );
    expect(r.stdout).toBe("one two|it's|");
    expect(r.exitCode).toBe(7);
  });

  test("the runner's sudo covers only apt-get, apt, dpkg, systemctl and docker", async () => {
    const allowed = await target.exec(['sudo', '-n', 'systemctl', 'is-system-running'], { reject: false });
    expect(allowed.stderr).not.toMatch(/password is required|not allowed/);
    const denied = await target.exec(['sudo', '-n', 'id', '-u'], { reject: false });
    expect(denied.failed).toBe(true);
    expect(denied.stdout.trim()).not.toBe('0');
  });

  test('Docker in the VM runs a riscv64 container of the busybox stand-in from the lab registry', async () => {
    const r = await target.exec(
      ['docker', 'run', '--rm', ...resources.labelFlags, `busybox:${BUSYBOX_TAG}`, 'uname', '-m'],
      { timeoutMs: 10 * 60_000 },
    );
    expect(r.stdout.trim()).toBe('riscv64');
  });

  test("BuildKit's amd64 and arm64 emulators are registered with the F flag", async () => {
    const facts = await probeFacts(target);
    for (const name of ['qemu-x86_64', 'qemu-aarch64']) {
      const entry = facts.binfmt.find((b) => b.name === name);
      expect(entry, `${name} in ${JSON.stringify(facts.binfmt.map((b) => b.name))}`).toBeDefined();
      expect(entry!.enabled).toBe(true);
      expect(entry!.flags).toContain('F');
    }
  });

  test(
    `the registry serves debian:trixie-slim for riscv64, amd64 and arm64, and busybox:${BUSYBOX_TAG} for riscv64 (amd64 and arm64 too once verified upstream)`,
    async () => {
      // The other platforms' trees may still be made when up() returns: the start says when they are.
      await lab.basesSettled();
      expect(await lab.basesStatus()).toBeUndefined();
      const platforms = await lab.registryPlatforms();
      expect(platforms).toEqual(expect.arrayContaining(['linux/riscv64', 'linux/amd64', 'linux/arm64/v8']));
      // riscv64 always (the lab's pinned mirror); amd64 and arm64 when the upstream index verified.
      const busybox = await lab.registryPlatforms(BUSYBOX_REPOSITORY, BUSYBOX_TAG);
      expect(busybox).toContain('linux/riscv64');
      for (const p of busybox) expect(['linux/riscv64', 'linux/amd64', 'linux/arm64/v8']).toContain(p);
    },
    30 * 60_000,
  );

  test("apt in a riscv64 container verifies and installs from the lab's Debian mirror", async ({
    annotate,
  }) => {
    const ep = await lab.endpoint();
    const script = [
      'set -e',
      `echo "deb ${ep.debianMirrorFromGuest} ${config.lab.suite} main" > /etc/apt/sources.list`,
      'rm -f /etc/apt/sources.list.d/*',
      'apt-get -q update',
      'cd /tmp && apt-get -q download tini',
      'ls /tmp/*.deb',
    ].join('\n');
    const r = await target.exec(
      ['docker', 'run', '--rm', '--platform', 'linux/riscv64', 'debian:trixie-slim', 'sh', '-c', script],
      { reject: false, timeoutMs: 10 * 60_000 },
    );
    await annotate(`apt-get update + download through the lab mirror: ${(r.durationMs / 1000).toFixed(1)}s`);
    expect(r.exitCode, r.stdout.slice(-1500) + r.stderr.slice(-1500)).toBe(0);
    expect(r.stdout).toMatch(/\/tmp\/tini_[^ ]+_riscv64\.deb/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/NO_PUBKEY|not signed|Hash Sum mismatch|unexpected size/);
  });

  test(
    'down leaves no qemu, registry or Debian mirror process behind, and up brings it back from the cache',
    async ({ annotate }) => {
      await resources.cleanup();
      await target.close();
      const state = await lab.readState();
      const t0 = performance.now();
      await lab.down();
      const downMs = performance.now() - t0;
      await annotate(`lab down: ${(downMs / 1000).toFixed(1)}s`);
      const local = new LocalTarget();
      const qemu = await local.exec(['pgrep', '-f', `qemu-system-riscv64 -name buildkit-acceptance-lab`], {
        reject: false,
      });
      expect(qemu.stdout.trim()).toBe('');
      if (state)
        expect(await readFile(`/proc/${state.qemuPid}/cmdline`).catch(() => undefined)).toBeUndefined();
      const registry = await local.exec(['pgrep', '-f', 'docker-registry serve'], { reject: false });
      expect(registry.stdout.trim()).toBe('');
      const mirror = await local.exec(['pgrep', '-f', 'debian-mirror-main'], { reject: false });
      expect(mirror.stdout.trim()).toBe('');

      const t1 = performance.now();
      await lab.up();
      const upMs = performance.now() - t1;
      await annotate(
        `warm lab up to SSH + Docker ready: ${(upMs / 1000).toFixed(1)}s (${lab.timings.resumed ? 'resumed' : 'booted'})`,
      );
      target = await lab.connect();
      resources = new ResourceTracker(target);
      // Resumed from the hibernated VM (or, with BKA_LAB_RESUME=0, booted): either way the guest clock is
      // this machine's.
      const guest = Number((await target.exec(['date', '+%s'])).stdout.trim());
      expect(Math.abs(guest - Date.now() / 1000), 'the guest clock against this machine, in s').toBeLessThan(
        5,
      );
    },
    10 * 60_000,
  );

  test(
    'a lab whose qemu died is detected and started again from the cache',
    async ({ annotate }) => {
      const before = await lab.running();
      expect(before, 'the lab should be running before this check').toBeDefined();
      // Flush the guest's page cache, then kill qemu: a power cut, not a corrupted cache.
      await target.exec(['sync'], { timeoutMs: 60_000 });
      await resources.cleanup();
      await target.close();
      process.kill(before!.qemuPid, 'SIGTERM');
      const deadline = Date.now() + 20_000;
      while ((await lab.running()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await lab.running(), 'qemu should be gone after SIGTERM').toBeUndefined();

      const t0 = performance.now();
      await lab.up();
      await annotate(`restart after qemu died: ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      const after = await lab.running();
      expect(after?.qemuPid).toBeDefined();
      expect(after!.qemuPid).not.toBe(before!.qemuPid);
      target = await lab.connect();
      resources = new ResourceTracker(target);
      expect((await target.exec(['uname', '-m'])).stdout.trim()).toBe('riscv64');
    },
    10 * 60_000,
  );
});
