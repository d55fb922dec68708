import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect } from 'vitest';
import { BuildError, buildBinaries, toolchainProblem } from '../../build/binaries.ts';
import { DEFAULT_BUILDKIT_REF } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { testNeeding } from './fixtures/needs.ts';

const noGo = (await execa('go', ['version'], { reject: false })).failed
  ? 'needs go: the build script cross-compiles with the host Go (apt-get install golang-go)'
  : undefined;
const test = testNeeding(noGo);
/**
 * A real build needs a Go as new as BuildKit's go.mod asks (a board's Debian Go 1.24 is older than
 * v0.33.1's 1.26.8): elsewhere that build skips with the fix. A failure to ask (no proxy) is left to the
 * build itself, which fails with it.
 */
const goTooOld = noGo
  ? undefined
  : await toolchainProblem(DEFAULT_BUILDKIT_REF).then(
      (problem) => (problem ? `needs go >= BuildKit's go.mod: ${problem}` : undefined),
      () => undefined,
    );
const testBuilding = testNeeding(noGo ?? goTooOld);

async function fakeCheckout(goVersion: string, dirty = false): Promise<string> {
  const dir = await localTempDir('self-src');
  await writeFile(join(dir, 'go.mod'), `module github.com/moby/buildkit\n\ngo ${goVersion}\n`);
  const git = (...args: string[]) =>
    execa('git', ['-C', dir, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args]);
  await git('init', '-q');
  await git('add', '.');
  await git('commit', '-qm', 'init');
  await git('tag', 'v9.9.9');
  if (dirty)
    await writeFile(join(dir, 'go.mod'), `module github.com/moby/buildkit\n\ngo ${goVersion}\n// edited\n`);
  return dir;
}

describe('binaries build script', () => {
  testBuilding(
    'two builds of the same ref and Go version are byte-identical',
    async () => {
      const out1 = await localTempDir('self-build');
      const out2 = await localTempDir('self-build');
      const a = await buildBinaries({
        ref: DEFAULT_BUILDKIT_REF,
        goarch: 'riscv64',
        outDir: out1,
        fresh: true,
      });
      const b = await buildBinaries({
        ref: DEFAULT_BUILDKIT_REF,
        goarch: 'riscv64',
        outDir: out2,
        fresh: true,
      });
      expect(a.manifest.sha256).toEqual(b.manifest.sha256);
      expect(a.manifest.mode).toBe(process.arch === 'riscv64' ? 'native' : 'cross-compiled');
      expect(await readdir(a.dir)).toEqual(
        expect.arrayContaining(['bin', 'VERSION.txt', 'SHA256SUMS', 'manifest.json', a.manifest.tarball]),
      );
      expect(a.manifest.tarball).toBe(`buildkit-${DEFAULT_BUILDKIT_REF}.linux-riscv64.tar.gz`);
      const c = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'riscv64', outDir: out1 });
      expect(c.cached).toBe(true);
    },
    20 * 60_000,
  );

  test('an unknown ref is a one-sentence error, and leaves no output behind', async () => {
    const out = await localTempDir('self-build');
    const err = await buildBinaries({ ref: 'v0.0.999', outDir: out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(
      /^BuildKit ref 'v0\.0\.999' (does not exist|is not served by the Go module proxy)/,
    );
    expect(await readdir(out)).toEqual([]);
  });

  test('no route to the module proxy is named as such', async () => {
    const cache = await localTempDir('self-gomod');
    const saved = {
      GOPROXY: process.env.GOPROXY,
      GOMODCACHE: process.env.GOMODCACHE,
      GOFLAGS: process.env.GOFLAGS,
    };
    Object.assign(process.env, { GOPROXY: 'http://127.0.0.1:1', GOMODCACHE: cache });
    try {
      const err = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/cannot reach the Go module proxy/);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await execa('chmod', ['-R', 'u+w', cache]);
    }
  });

  test('a missing, dirty or too-new-for-this-Go checkout each say what to do', async () => {
    const missing = await buildBinaries({ source: '/nonexistent/buildkit' }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/no BuildKit source at .*'git submodule update --init'/);
    const dirty = await buildBinaries({ source: await fakeCheckout('1.20', true) }).catch((e: unknown) => e);
    expect((dirty as Error).message).toMatch(/has uncommitted changes/);
    // Too old: the fix within a runner's sudo, and no download attempted (GOPROXY=off would refuse one).
    const saved = { GOPROXY: process.env.GOPROXY, GOTOOLCHAIN: process.env.GOTOOLCHAIN };
    process.env.GOPROXY = 'off';
    delete process.env.GOTOOLCHAIN;
    try {
      const tooNew = await buildBinaries({ source: await fakeCheckout('1.99.0') }).catch((e: unknown) => e);
      expect((tooNew as Error).message).toMatch(
        /needs Go 1\.99\.0, this host has go\S+: install Go >= 1\.99\.0 \(Debian trixie: sudo apt-get install -t trixie-backports golang-go\)/,
      );
      // Asked for by name: tried, and its failure said with the same fix.
      process.env.GOTOOLCHAIN = 'go1.99.0';
      const fetched = await buildBinaries({ source: await fakeCheckout('1.99.0') }).catch((e: unknown) => e);
      expect((fetched as Error).message).toMatch(
        /needs Go 1\.99\.0, this host has go\S+ and Go could not fetch go1\.99\.0/,
      );
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('a checkout is built with its git revision and tag injected', async () => {
    const src = await fakeCheckout('1.20');
    expect(existsSync(join(src, '.git'))).toBe(true);
    // The fake has no cmd/: the build fails, but only after naming version and revision from git.
    const err = await buildBinaries({
      source: src,
      outDir: await localTempDir('self-build'),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/go build \.\/cmd\/buildctl failed/);
  });

  test('a go build past its deadline is killed and says so, with the option that gives it longer', async () => {
    const src = await fakeCheckout('1.20');
    await mkdir(join(src, 'cmd', 'buildctl'), { recursive: true });
    await writeFile(join(src, 'cmd', 'buildctl', 'main.go'), 'package main\n\nfunc main() {}\n');
    await execa('git', ['-C', src, 'add', '.']);
    await execa('git', ['-C', src, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'cmd']);
    await execa('git', ['-C', src, 'tag', '-f', 'v9.9.9']);
    const out = await localTempDir('self-build');
    const err = await buildBinaries({ source: src, outDir: out, deadlineMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(
      /go build \.\/cmd\/buildctl did not finish within \S+ and was killed \(--build-deadline MINUTES/,
    );
    expect(await readdir(out)).toEqual([]);
  });
});
