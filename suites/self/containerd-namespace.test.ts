/**
 * `rmns` (harness/docker/containerd-namespace.ts), which the containerd worker's stop() and the janitor use, on
 * a private containerd: a namespace holding what BuildKit's containerd worker leaves (a snapshot chain,
 * content, a lease), with one snapshot labelled as a collection root, so containerd's own collector never
 * takes the chain; and one whose snapshots containerd refuses to remove, which must fail in its deadline,
 * saying what the namespace still holds.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect } from 'vitest';
import { REMOVE_NAMESPACE_SH } from '../../harness/docker/containerd-namespace.ts';
import { findTool } from '../../harness/target/local-tools.ts';
import { containerdUnavailable, TestContainerd } from './fixtures/containerd.ts';
import { testNeeding } from './fixtures/needs.ts';

const test = testNeeding(containerdUnavailable());

/**
 * Snapshots as a build leaves them: a chain c1 <- c2 <- c3 <- k4 (active, a gc root) with a branch
 * c2 <- b3, listed in no particular order; a content blob and a lease.
 */
async function fill(c: TestContainerd, ns: string): Promise<void> {
  const steps: Array<[string[], string?]> = [
    [['snapshots', 'prepare', 'k1']],
    [['snapshots', 'commit', 'c1', 'k1']],
    [['snapshots', 'prepare', 'k2', 'c1']],
    [['snapshots', 'commit', 'c2', 'k2']],
    [['snapshots', 'prepare', 'k3', 'c2']],
    [['snapshots', 'commit', 'c3', 'k3']],
    [['snapshots', 'prepare', 'k4', 'c3']],
    [['snapshots', 'label', 'k4', 'containerd.io/gc.root=kept']],
    [['snapshots', 'prepare', 'kb', 'c2']],
    [['snapshots', 'commit', 'b3', 'kb']],
    [['content', 'ingest', 'blob'], 'a layer\n'],
    [['leases', 'create', '--id', 'kept']],
  ];
  for (const [args, input] of steps) {
    const r = await c.ctr(['-n', ns, ...args], input);
    expect(r.exitCode, `ctr ${args.join(' ')}: ${r.stderr}`).toBe(0);
  }
}

async function rmns(c: TestContainerd, ns: string, seconds: number, path = process.env.PATH) {
  const script = `${REMOVE_NAMESPACE_SH}\nrmns "$1" "$2"`;
  return execa('sh', ['-c', script, 'sh', ns, String(seconds)], {
    env: { ...c.env, PATH: path },
    reject: false,
    timeout: 120_000,
  });
}

describe('containerd namespace removal', () => {
  test("removes a namespace whose snapshots containerd's collector never takes, at once", async () => {
    await using c = await TestContainerd.start();
    await fill(c, 'bka-self-ns');
    const started = Date.now();
    const r = await rmns(c, 'bka-self-ns', 30);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await c.ctr(['namespaces', 'ls', '-q'])).stdout.split('\n')).not.toContain('bka-self-ns');
    // It removes what is there, children before parents, rather than waiting for the collector.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('fails in its deadline, saying what the namespace still holds, when containerd refuses', async () => {
    await using c = await TestContainerd.start();
    await fill(c, 'bka-self-stuck');
    // A ctr in front of the real one whose snapshot removals containerd "refuses".
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-ctr-'));
    try {
      const real = findTool('ctr') as string;
      await writeFile(
        join(dir, 'ctr'),
        `#!/bin/sh\ncase " $* " in *" snapshots "*" rm "*) echo "ctr: snapshot in use" >&2; exit 1;; esac\nexec ${real} "$@"\n`,
      );
      await chmod(join(dir, 'ctr'), 0o755);
      const started = Date.now();
      const r = await rmns(c, 'bka-self-stuck', 2, `${dir}:${process.env.PATH}`);
      expect(r.exitCode).toBe(1);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(r.stderr).toMatch(/containerd namespace bka-self-stuck still holds: 5 \w+ snapshots/);
      expect(r.stderr).toMatch(/containerd said: .*must be empty/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
