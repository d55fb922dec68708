/**
 * Waiting for a base image's platforms on a registry mirror (harness/run/base-images.ts), on a real
 * registry: a mirror that lacks a platform is waited for, with what is awaited said, until it serves it
 * or the deadline passes; in the lab, nothing making the missing platforms fails at once.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { pushMultiPlatformImage } from '../../harness/lab/oci-push.ts';
import { loadConfig } from '../../harness/plan/config.ts';
import { awaitBaseImage } from '../../harness/run/base-images.ts';
import { LocalTarget } from '../../harness/target/local-target.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { type LocalRegistry, startLocalRegistry } from './fixtures/local-registry.ts';
import { needsTools, testNeeding } from './fixtures/needs.ts';

const missing = needsTools(
  ['docker-registry', 'curl'],
  "a real registry (Debian's docker-registry) read with curl",
);
const test = testNeeding(missing);
const FOREIGN = ['linux/amd64', 'linux/arm64'];
let local: LocalRegistry | undefined;

beforeAll(async () => {
  if (!missing) local = await startLocalRegistry();
});
afterAll(() => local?.stop());

async function ctxFor(origin: 'ssh' | 'lab') {
  const config = loadConfig();
  const labDir = await localTempDir('self-empty-lab');
  return {
    target: new LocalTarget(),
    origin,
    config: { ...config, registryMirror: local!.addr, lab: { ...config.lab, dir: labDir } },
  };
}

const push = (tag: string, archs: string[]) =>
  pushMultiPlatformImage(
    local!.addr,
    'library/debian',
    tag,
    archs.map((a) => local!.rootfs(a)),
  );

describe('a base image through a registry mirror', () => {
  test('is waited for while the mirror lacks a platform, saying which, and used once it is pushed', async () => {
    await push('wait-then-served', ['riscv64']);
    const lines: string[] = [];
    const t0 = performance.now();
    const waiting = awaitBaseImage(await ctxFor('ssh'), 'debian:wait-then-served', FOREIGN, {
      deadlineMs: 60_000,
      pollMs: 300,
      log: (l) => lines.push(l),
    });
    await new Promise((r) => setTimeout(r, 1_500));
    await push('wait-then-served', ['riscv64', 'amd64', 'arm64']);
    await waiting;
    expect(performance.now() - t0).toBeGreaterThan(1_400);
    expect(lines[0]).toContain(
      `waiting for ${local!.addr}/library/debian:wait-then-served for linux/amd64, linux/arm64`,
    );
    expect(lines.at(-1)).toContain('now serves linux/amd64, linux/arm64');
  });

  test('fails at its deadline naming what the mirror lacks', async () => {
    await push('never-served', ['riscv64', 'amd64']);
    const t0 = performance.now();
    await expect(
      awaitBaseImage(await ctxFor('ssh'), 'debian:never-served', FOREIGN, {
        deadlineMs: 1_000,
        pollMs: 200,
        log: () => {},
      }),
    ).rejects.toThrow(
      /debian:never-served for linux\/arm64 was not served within 1\.0s \(is the mirror .* mid-sync\?\)/,
    );
    expect(performance.now() - t0).toBeLessThan(15_000);
  });

  test('in the lab, fails at once when no lab start is making the missing platforms', async () => {
    await push('lab-never', ['riscv64']);
    const t0 = performance.now();
    await expect(
      awaitBaseImage(await ctxFor('lab'), 'debian:lab-never', FOREIGN, { deadlineMs: 60_000, log: () => {} }),
    ).rejects.toThrow(/the lab registry serves no .*linux\/amd64, linux\/arm64; nothing is making them/);
    expect(performance.now() - t0).toBeLessThan(15_000);
  });
});
