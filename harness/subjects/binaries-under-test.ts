import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { type BuildManifest, buildBinaries, manifestFileFor, resolveRef } from '../../build/binaries.ts';
import { type ElfInfo, parseElf } from '../../helpers/elf.ts';
import { versionFromArchiveName } from '../../helpers/release-files.ts';
import { runEnv } from '../plan/run-env.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import { localTempDir } from '../target/local-temp.ts';

/** The binaries under test, on the target, and where they came from. */
export interface BinariesUnderTest {
  /** Directory on the target holding buildkitd and buildctl. */
  remoteBinDir: string;
  localBinDir: string;
  /** The version and revision the binaries must report. */
  expectedVersion: string;
  expectedRevision: string | undefined;
  /** Where they came from, for the report: the build script (native or cross) or --binaries. */
  source: string;
  manifest: BuildManifest | undefined;
  sha256: Record<string, string>;
  /** The ELF facts of buildkitd, read before anything is started with it. */
  buildkitdElf: ElfInfo | undefined;
  /** The release directory (SHA256SUMS, the tarball) and the tarball, where the binaries came with them. */
  releaseDir: string | undefined;
  tarball: string | undefined;
  /** Where the expected version and revision came from, for the report. */
  expectedFrom: string;
}

const GOARCH: Record<string, string> = { riscv64: 'riscv64', x86_64: 'amd64', aarch64: 'arm64' };

const KEY = Symbol.for('buildkit-acceptance.binaries');
const store = globalThis as unknown as Record<symbol, Promise<BinariesUnderTest> | undefined>;

async function sha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** `--binaries` given as a directory (with or without bin/) or a release archive (.tar.gz). */
async function externalBinaries(spec: string): Promise<{
  binDir: string;
  manifest?: BuildManifest;
  archiveSha?: string;
  releaseDir?: string;
  tarball?: string;
}> {
  let dir = spec;
  let archiveSha: string | undefined;
  if (/^https?:\/\//.test(spec)) {
    const res = await fetch(spec);
    if (!res.ok) throw new Error(`--binaries ${spec}: HTTP ${res.status}`);
    const tmp = await localTempDir('binaries');
    const file = join(tmp, basename(new URL(spec).pathname) || 'buildkit.tar.gz');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return externalBinaries(file);
  }
  if (!existsSync(spec)) throw new Error(`--binaries ${spec}: no such file or directory`);
  if ((await stat(spec)).isFile()) {
    archiveSha = await sha(spec);
    dir = await localTempDir('binaries');
    await execa('tar', ['-xzf', spec, '-C', dir]);
  }
  const binDir = existsSync(join(dir, 'bin', 'buildkitd')) ? join(dir, 'bin') : dir;
  for (const b of ['buildkitd', 'buildctl']) {
    if (!existsSync(join(binDir, b)))
      throw new Error(`--binaries ${spec}: no ${b} in it (expected bin/${b} or ${b})`);
  }
  const manifestFile = manifestFileFor(dir);
  const manifest = manifestFile
    ? (JSON.parse(await readFile(manifestFile, 'utf8')) as BuildManifest)
    : undefined;
  const tarball = archiveSha
    ? spec
    : (await readdir(dir)).filter((f) => versionFromArchiveName(f)).map((f) => join(dir, f))[0];
  return { binDir, manifest, archiveSha, releaseDir: archiveSha ? undefined : dir, tarball };
}

async function prepare(ctx: PhaseContext): Promise<BinariesUnderTest> {
  const { config, target } = ctx;
  let localBinDir: string;
  let manifest: BuildManifest | undefined;
  let source: string;
  let releaseDir: string | undefined;
  let tarball: string | undefined;
  let expectedVersion: string;
  let expectedRevision: string | undefined;
  let expectedFrom: string;
  if (config.binaries) {
    const ext = await externalBinaries(config.binaries);
    localBinDir = ext.binDir;
    manifest = ext.manifest;
    releaseDir = ext.releaseDir;
    tarball = ext.tarball;
    source = `--binaries ${config.binaries}${ext.archiveSha ? ` (sha256 ${ext.archiveSha})` : ''}`;
    // The upstream tag the release archive is named for, else the ref asked for; the revision is then
    // unknown (an upstream archive carries none), and only checked to be present.
    const tagged = tarball ? versionFromArchiveName(basename(tarball)) : undefined;
    expectedVersion = tagged ?? config.buildkitRef;
    expectedFrom = tagged ? `the archive name ${basename(tarball!)}` : `--buildkit-ref ${config.buildkitRef}`;
  } else {
    // Built where the suite runs, for the target's architecture: native on the riscv64 runner; the lab
    // cross-compiles on its x86-64 side.
    const goarch = GOARCH[ctx.facts.arch] ?? ctx.facts.arch;
    const out = await buildBinaries({
      ref: config.buildkitRef,
      goarch,
      fresh: runEnv('fresh') === '1',
      log: (l) => process.stderr.write(`${l}\n`),
    });
    localBinDir = out.binDir;
    manifest = out.manifest;
    releaseDir = out.dir;
    tarball = out.tarball;
    source = `build script: ${out.manifest.source}, ${out.manifest.goVersion}, ${out.manifest.mode}${out.cached ? ' (cached build)' : ''}`;
    const asked = await resolveRef(config.buildkitRef);
    expectedVersion = asked.version;
    expectedRevision = asked.revision;
    expectedFrom = `--buildkit-ref ${config.buildkitRef}, resolved by the Go module proxy`;
  }
  let buildkitdElf: ElfInfo | undefined;
  try {
    buildkitdElf = parseElf((await readFile(join(localBinDir, 'buildkitd'))).subarray(0, 4096));
  } catch {
    buildkitdElf = undefined;
  }
  const sha256: Record<string, string> = {};
  for (const b of ['buildkitd', 'buildctl']) sha256[b] = await sha(join(localBinDir, b));
  let remoteBinDir = localBinDir;
  if (target.kind !== 'local') {
    const dir = await ctx.resources.tempDir('binaries');
    remoteBinDir = `${dir}/bin`;
    for (const b of ['buildkitd', 'buildctl'])
      await target.upload(join(localBinDir, b), `${remoteBinDir}/${b}`, 0o755);
  }
  return {
    remoteBinDir,
    localBinDir,
    expectedVersion,
    expectedRevision,
    expectedFrom,
    releaseDir,
    tarball,
    source,
    manifest,
    sha256,
    buildkitdElf,
  };
}

/**
 * The binaries for this run, built (or taken from --binaries) once per worker and uploaded to the
 * target. The first file to ask pays for it; its tracker owns the upload dir, so ask with the
 * longest-lived context (the phase's first file).
 */
export function binariesUnderTest(ctx: PhaseContext): Promise<BinariesUnderTest> {
  store[KEY] ??= prepare(ctx);
  return store[KEY];
}
