/**
 * The Debian package's build script (build/deb.ts) on this machine, with real dpkg-deb, dpkg and
 * lintian: versions ordered as Debian orders them, the contents and control fields #210's package
 * asks for, reproducible bytes, and lintian clean. The binaries are a small static riscv64 Go program
 * standing in for buildkitd and buildctl (the package's contents do not depend on what they do; the
 * target checks in the binaries phase install the real ones).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { buildDeb, type DebOutput } from '../../build/deb.ts';
import { debianVersion } from '../../helpers/deb-version.ts';
import { needsTools, testNeeding } from './fixtures/needs.ts';

const test = testNeeding(needsTools(['dpkg-deb', 'dpkg', 'go'], 'builds and reads the package'));
const lintianTest = testNeeding(
  needsTools(['dpkg-deb', 'go', 'lintian'], "Debian's package checker (apt-get install lintian)"),
);

const WORK_PROGRAM = fileURLToPath(new URL('../../fixtures/emulation/work/', import.meta.url));
let dir: string;
let bins: string;
let deb: DebOutput;

beforeAll(async () => {
  if (needsTools(['dpkg-deb', 'dpkg', 'go'], '')) return;
  dir = await mkdtemp(join(tmpdir(), 'bka-self-deb-'));
  bins = join(dir, 'binaries');
  await mkdir(join(bins, 'bin'), { recursive: true });
  // Static and stripped, as phase 1 builds buildkitd and buildctl.
  for (const name of ['buildkitd', 'buildctl'])
    await execa('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', join(bins, 'bin', name), '.'], {
      cwd: WORK_PROGRAM,
      env: { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'riscv64', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
    });
  await writeFile(
    join(bins, 'manifest.json'),
    JSON.stringify({
      ref: 'v0.33.1',
      version: 'v0.33.1',
      revision: '0123456789abcdef0123456789abcdef01234567',
      goVersion: 'go1.26.8',
      goarch: 'riscv64',
      builtAt: '2026-11-30T03:20:23.463Z',
    }),
  );
  deb = await buildDeb({ binariesDir: bins, outDir: join(dir, 'out') });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const dpkgDeb = async (...args: string[]) => (await execa('dpkg-deb', args)).stdout;
const member = async (path: string) =>
  (await execa('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -xO "./$2"', 'sh', deb.path, path])).stdout;

describe('Debian package versions', () => {
  test('sort as releases do: a candidate and a master build below the next release, a later build above its tag', async () => {
    // Each is below the next, as dpkg orders them.
    const ascending = [
      'a1b2c3d4e5f6', // a bare revision: below every release
      'v0.33.0-rc1',
      'v0.33.0',
      'v0.33.0-57-gabc1234', // a master build after v0.33.0 ...
      'v0.33.1-0.20261120123456-abcdef123456', // ... a Go pseudo-version of a commit before v0.33.1 ...
      'v0.33.1', // ... both below the next release
      'v0.34.0-rc1',
      'v0.34.0-rc1-3-g1234567',
      'v0.34.0',
    ].map((v) => debianVersion(v));
    for (let i = 1; i < ascending.length; i++) {
      const lower = ascending[i - 1]!;
      const higher = ascending[i]!;
      const r = await execa('dpkg', ['--compare-versions', lower, 'lt', higher], { reject: false });
      expect(r.exitCode, `${lower} < ${higher}`).toBe(0);
    }
    expect(debianVersion('v0.33.1')).toBe('0.33.1-1');
    expect(debianVersion('v0.33.1', '2')).toBe('0.33.1-2');
    expect(() => debianVersion('latest')).toThrow(/neither a release/);
  });
});

describe('the Debian package', () => {
  test('is buildkit_<version>_riscv64.deb with the binaries, the units, the rootless unit and the conffile', async () => {
    expect(deb.path.endsWith('/buildkit_0.33.1-1_riscv64.deb')).toBe(true);
    const files = (await dpkgDeb('--contents', deb.path))
      .split('\n')
      .filter((l) => l.startsWith('-'))
      .map((l) => l.split(/\s+/).pop());
    for (const f of [
      './usr/bin/buildkitd',
      './usr/bin/buildctl',
      './usr/lib/systemd/system/buildkit.socket',
      './usr/lib/systemd/system/buildkit.service',
      './usr/lib/systemd/user/buildkit.service',
      './etc/buildkit/buildkitd.toml',
    ])
      expect(files, f).toContain(f);
    expect(await dpkgDeb('--info', deb.path, 'conffiles')).toBe('/etc/buildkit/buildkitd.toml');
    const field = async (f: string) => dpkgDeb('--field', deb.path, f);
    expect(await field('Package')).toBe('buildkit');
    expect(await field('Architecture')).toBe('riscv64');
    expect(await field('Version')).toBe('0.33.1-1');
    expect(await field('Depends')).toMatch(/(^|, )runc(,|$)/);
    expect((await field('Recommends')).split(/,\s*/)).toEqual(['containerd', 'rootlesskit', 'uidmap']);
    expect(await field('Suggests')).toBe('docker-buildx');
  });

  test('its units start buildkitd from /usr/bin by socket activation on /run/buildkit/buildkitd.sock', async () => {
    const socket = await member('usr/lib/systemd/system/buildkit.socket');
    const service = await member('usr/lib/systemd/system/buildkit.service');
    const user = await member('usr/lib/systemd/user/buildkit.service');
    expect(socket).toMatch(/^ListenStream=%t\/buildkit\/buildkitd\.sock$/m);
    expect(service).toMatch(/^ExecStart=\/usr\/bin\/buildkitd --addr fd:\/\/$/m);
    expect(service).toMatch(/^Requires=buildkit\.socket$/m);
    expect(user).toMatch(
      /^ExecStart=\S*rootlesskit .*\/usr\/bin\/buildkitd --addr unix:\/\/%t\/buildkit\/rootless$/m,
    );
    const toml = await member('etc/buildkit/buildkitd.toml');
    expect(toml.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))).toEqual([]);
  });

  test('its maintainer scripts enable and start the socket, stop it on remove, and remove the state only on purge', async () => {
    const ctl = join(dir, 'control');
    await execa('dpkg-deb', ['--control', deb.path, ctl]);
    const postinst = await readFile(join(ctl, 'postinst'), 'utf8');
    const prerm = await readFile(join(ctl, 'prerm'), 'utf8');
    const postrm = await readFile(join(ctl, 'postrm'), 'utf8');
    expect(postinst).toMatch(/deb-systemd-helper enable buildkit\.socket/);
    expect(postinst).toMatch(/deb-systemd-invoke start buildkit\.socket/);
    expect(prerm).toMatch(/deb-systemd-invoke stop buildkit\.service buildkit\.socket/);
    const code = postrm.replace(/^\s*#.*$/gm, '');
    const purge = code.indexOf('"$1" = purge');
    expect(code.slice(purge)).toMatch(/rm -rf \/var\/lib\/buildkit/);
    expect(code.slice(0, purge), 'the state is touched only on purge').not.toMatch(/\/var\/lib\/buildkit/);
    for (const s of [postinst, prerm, postrm]) await execa('sh', ['-n'], { input: s });
  });

  test('is the same bytes when built again from the same inputs', async () => {
    const again = await buildDeb({ binariesDir: bins, outDir: join(dir, 'again') });
    expect(again.sha256).toBe(deb.sha256);
    const other = await buildDeb({ binariesDir: bins, outDir: join(dir, 'other'), revision: '2' });
    expect(other.sha256).not.toBe(deb.sha256);
    expect(await readFile(`${deb.path}.sha256`, 'utf8')).toBe(
      `${deb.sha256}  buildkit_0.33.1-1_riscv64.deb\n`,
    );
  });

  lintianTest('is lintian clean: no error or warning, each override justified in a comment', async () => {
    const r = await execa('lintian', ['--no-cfg', '--pedantic', deb.path], { reject: false, all: true });
    const findings = r.all.split('\n').filter((l) => /^[EW]: /.test(l));
    expect(findings, r.all).toEqual([]);
    const overrides = await member('usr/share/lintian/overrides/buildkit');
    const lines = overrides.split('\n');
    // Each override, or the group of overrides it is in, follows a comment that says why.
    lines.forEach((l, i) => {
      if (!l.startsWith('buildkit: ')) return;
      let j = i - 1;
      while (j >= 0 && lines[j]!.startsWith('buildkit: ')) j--;
      expect(lines[j] ?? '', `no comment above '${l}'`).toMatch(/^# \S/);
    });
  });
});
