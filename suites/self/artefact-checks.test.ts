import { chmod, cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../harness/plan/config.ts';
import {
  defaultImageRepository,
  imageRepositoryProblem,
  parseGitHubRemote,
  projectRepository,
} from '../../harness/plan/project-repository.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { type ElfInfo, parseElf, riscv64Problem } from '../../helpers/elf.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { isReleaseVersion, releaseFromTag, tagsFor } from '../../helpers/image-tags.ts';
import {
  sha256Of,
  sha256SumsProblems,
  tarballProblems,
  versionFromArchiveName,
} from '../../helpers/release-files.ts';

/** A minimal ELF header: class, data, machine, flags; one PT_LOAD program header (static). */
function elfHeader(o: { is64: boolean; little: boolean; machine: number; flags: number }): Buffer {
  const b = Buffer.alloc(256);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = o.is64 ? 2 : 1;
  b[5] = o.little ? 1 : 2;
  b[6] = 1;
  const u16 = (v: number, at: number) => (o.little ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (v: number, at: number) => (o.little ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  u16(2, 16); // EXEC
  u16(o.machine, 18);
  if (o.is64) {
    b.writeBigUInt64LE(0n, 24);
    if (o.little) b.writeBigUInt64LE(64n, 32);
    else b.writeBigUInt64BE(64n, 32);
    u32(o.flags, 48);
    u16(56, 54);
    u16(1, 56);
  } else {
    u32(52, 28);
    u32(o.flags, 36);
    u16(32, 42);
    u16(1, 44);
  }
  u32(1, o.is64 ? 64 : 52); // PT_LOAD
  return b;
}

describe('the riscv64 ELF check', () => {
  const good = { is64: true, little: true, machine: 243, flags: 0x5 };
  const problem = (o: Partial<typeof good>): string | undefined =>
    riscv64Problem(parseElf(elfHeader({ ...good, ...o })) as ElfInfo);

  test('accepts an rv64 little-endian RISC-V binary (RVC, double-float ABI)', () => {
    expect(problem({})).toBeUndefined();
    expect(parseElf(elfHeader(good)).isStatic).toBe(true);
  });

  test('refuses rv32, big-endian, another machine and the RVE base, naming why', () => {
    expect(problem({ is64: false })).toMatch(/ELF32 \(riscv64 needs ELF64\)/);
    expect(problem({ little: false })).toMatch(/big-endian/);
    expect(problem({ machine: 62 })).toMatch(/x86-64 \(e_machine 62/);
    expect(problem({ flags: 0x8 })).toMatch(/RVE/);
  });
});

describe('the image tag convention', () => {
  const day = new Date('2026-11-23T12:00:00Z');
  test('a release is vX.Y.Z-riscv64; master, a pseudo-version or a describe past a tag is latest + master-DATE', () => {
    expect(tagsFor('v0.33.1', 'r', day)).toEqual(['r:v0.33.1-riscv64']);
    for (const dev of [
      'master',
      'v0.34.1-0.20261120101010-0123456789ab',
      'v0.0.0-20261120101010-0123456789ab',
      'v0.33.1-5-g0123abc',
    ])
      expect(tagsFor(dev, 'r', day), dev).toEqual(['r:latest', 'r:master-20261123']);
    expect(isReleaseVersion('v0.20.0-rc1')).toBe(true);
    expect(releaseFromTag('ghcr.io/o/buildkit-riscv64:v0.33.1-riscv64')).toBe('v0.33.1');
    expect(releaseFromTag('ghcr.io/o/buildkit-riscv64:latest')).toBeUndefined();
  });
});

describe('the default image repository', () => {
  test('is ghcr.io/<owner lower-cased>/buildkit-riscv64 from Actions or the git remote, else a local name', () => {
    const actions = projectRepository(
      { GITHUB_REPOSITORY_OWNER: 'RISCV-Lab', GITHUB_REPOSITORY: 'RISCV-Lab/BuildKit-RISCV' },
      '/',
    );
    expect(actions).toEqual({
      owner: 'RISCV-Lab',
      name: 'BuildKit-RISCV',
      url: 'https://github.com/RISCV-Lab/BuildKit-RISCV',
    });
    expect(defaultImageRepository(actions)).toBe('ghcr.io/riscv-lab/buildkit-riscv64');
    expect(parseGitHubRemote('git@github.com:Some-Org/buildkit-riscv64.git')).toEqual({
      owner: 'Some-Org',
      name: 'buildkit-riscv64',
    });
    expect(parseGitHubRemote('https://github.com/Some-Org/repo')).toEqual({
      owner: 'Some-Org',
      name: 'repo',
    });
    expect(defaultImageRepository(undefined)).toBe('bka-local/buildkit-riscv64');
    for (const ok of [
      'ghcr.io/riscv-lab/buildkit-riscv64',
      '10.0.2.2:5311/bka/buildkit-riscv64',
      'bka-local/buildkit-riscv64',
    ])
      expect(imageRepositoryProblem(ok), ok).toBeUndefined();
    expect(imageRepositoryProblem('ghcr.io/RISCV-Lab/buildkit-riscv64')).toMatch(
      /upper-case.*ghcr.io\/riscv-lab/,
    );
    expect(imageRepositoryProblem('ghcr.io/o/buildkit:v1')).toMatch(/no tag/);
  });

  test("with no config file, on the runner's kind of checkout (a capitalised owner), Docker's grammar accepts it", async () => {
    const dir = await localTempDir('self-no-config');
    await execa('git', ['init', '-q', dir]);
    await execa('git', [
      '-C',
      dir,
      'remote',
      'add',
      'origin',
      'https://github.com/RISCV-Lab/buildkit-riscv64.git',
    ]);
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.imageRepository).toBe('ghcr.io/riscv-lab/buildkit-riscv64');
    expect(config.projectRepository?.url).toBe('https://github.com/RISCV-Lab/buildkit-riscv64');
    expect(() => loadConfig({ env: { BKA_IMAGE_REPOSITORY: 'ghcr.io/RISCV-Lab/x' }, cwd: dir })).toThrow(
      ConfigError,
    );
  });
});

describe('release files', () => {
  async function release(): Promise<string> {
    const dir = await localTempDir('self-release');
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin', 'buildkitd'), 'daemon\n');
    await writeFile(join(dir, 'bin', 'buildctl'), 'client\n');
    await chmod(join(dir, 'bin', 'buildkitd'), 0o755);
    await execa('sh', ['-c', 'tar -C "$1" -czf "$1/buildkit-v0.33.1.linux-riscv64.tar.gz" bin', 'sh', dir]);
    const files = ['bin/buildkitd', 'bin/buildctl', 'buildkit-v0.33.1.linux-riscv64.tar.gz'];
    const sums = await Promise.all(files.map(async (f) => `${await sha256Of(join(dir, f))}  ${f}\n`));
    await writeFile(join(dir, 'SHA256SUMS'), sums.join(''));
    return dir;
  }
  const required = ['bin/buildkitd', 'bin/buildctl', 'buildkit-v0.33.1.linux-riscv64.tar.gz'];
  const tarball = (dir: string) => join(dir, 'buildkit-v0.33.1.linux-riscv64.tar.gz');

  test('hold for a release as phase 1 writes it', async () => {
    const dir = await release();
    expect(await sha256SumsProblems(dir, required)).toEqual([]);
    expect(await tarballProblems(tarball(dir), join(dir, 'bin'), ['buildkitd', 'buildctl'])).toEqual([]);
    expect(versionFromArchiveName(tarball(dir))).toBe('v0.33.1');
  });

  test('a binary changed after SHA256SUMS was written, or one it does not list, is named', async () => {
    const dir = await release();
    await writeFile(join(dir, 'bin', 'buildctl'), 'tampered\n');
    expect(await sha256SumsProblems(dir, required)).toEqual([
      expect.stringMatching(/^bin\/buildctl: sha256 [0-9a-f]{64}, SHA256SUMS says/),
    ]);
    expect(await sha256SumsProblems(dir, [...required, 'VERSION.txt'])).toContain(
      'SHA256SUMS does not list VERSION.txt',
    );
  });

  test('a tarball whose binaries differ from the loose ones, or that lacks one, is named', async () => {
    const dir = await release();
    await cp(join(dir, 'bin', 'buildctl'), join(dir, 'bin', 'buildkitd')); // a renamed buildctl
    expect(await tarballProblems(tarball(dir), join(dir, 'bin'), ['buildkitd', 'buildctl'])).toEqual([
      expect.stringMatching(/^bin\/buildkitd in the tarball .* differs from the loose buildkitd/),
    ]);
    await execa('sh', ['-c', 'tar -C "$1" -czf "$2" bin/buildctl', 'sh', dir, tarball(dir)]);
    expect((await tarballProblems(tarball(dir), join(dir, 'bin'), ['buildkitd', 'buildctl']))[0]).toMatch(
      /holds \[buildctl\], expected \[buildctl, buildkitd\]/,
    );
  });
});
