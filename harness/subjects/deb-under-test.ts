/**
 * The Debian package under test, on this machine: the one given with `--deb`, else built now by the
 * build script (build/deb.ts) from phase 1's binaries; and a newer build of the same package (its
 * version raised by `+bka1`, everything else as it is) for the upgrade check. The version it must
 * carry comes from the BuildKit version asked for, never from the package.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { buildDeb } from '../../build/deb.ts';
import { debianUpstream, debianVersion } from '../../helpers/deb-version.ts';
import { localTempDir } from '../target/local-temp.ts';
import type { BinariesUnderTest } from './binaries-under-test.ts';

export interface DebUnderTest {
  /** The package (local path), and its newer build. */
  file: string;
  newer: string;
  /** The newer build's Version field. */
  newerVersion: string;
  /** The Debian version the package must carry, from the BuildKit version asked for. */
  expectedUpstream: string;
  source: string;
}

/**
 * A copy of a package with `edit` applied to its unpacked tree (DEBIAN/ included), built again at
 * `out` with gzip's fastest level: a package made only to be checked (in the loaded TCG guest, gzip's
 * default level was still compressing the newer build's 70 MB after 3 min 52 s).
 */
export async function repackDeb(
  file: string,
  out: string,
  edit: (tree: string) => Promise<void>,
): Promise<void> {
  const tree = `${out}.tree`;
  await execa('dpkg-deb', ['--raw-extract', file, tree]);
  try {
    await edit(tree);
    await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', tree, out]);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}

/** The same package with its version raised (`<version>+bka1`): what an upgrade to a newer build installs. */
async function newerBuild(file: string, dir: string): Promise<{ file: string; version: string }> {
  let version = '';
  const staged = join(dir, 'newer.deb');
  await repackDeb(file, staged, async (tree) => {
    const control = join(tree, 'DEBIAN', 'control');
    const text = await readFile(control, 'utf8');
    version = `${/^Version: (.*)$/m.exec(text)?.[1]?.trim()}+bka1`;
    await writeFile(control, text.replace(/^Version: .*$/m, `Version: ${version}`));
  });
  const out = join(dir, basename(file).replace(/_([^_]+)_([^_]+)\.deb$/, `_${version}_$2.deb`));
  await rename(staged, out);
  return { file: out, version };
}

export async function debUnderTest(
  bins: BinariesUnderTest,
  given: string | undefined,
): Promise<DebUnderTest> {
  const dir = await localTempDir('deb');
  let file: string;
  let source: string;
  if (given) {
    if (!existsSync(given)) throw new Error(`--deb ${given}: no such file on this machine`);
    file = given;
    source = `--deb ${given}`;
  } else {
    let binariesDir = bins.releaseDir;
    if (!binariesDir || !existsSync(join(binariesDir, 'manifest.json'))) {
      // Binaries given without the build script's manifest: the package says what was asked for.
      binariesDir = join(dir, 'binaries');
      await mkdir(join(binariesDir, 'bin'), { recursive: true });
      for (const b of ['buildkitd', 'buildctl'])
        await execa('cp', [join(bins.localBinDir, b), join(binariesDir, 'bin', b)]);
      await writeFile(
        join(binariesDir, 'manifest.json'),
        JSON.stringify({
          version: bins.expectedVersion,
          revision: bins.expectedRevision ?? 'unknown',
          goVersion: bins.manifest?.goVersion ?? 'unknown',
          goarch: 'riscv64',
          builtAt: new Date().toISOString(),
        }),
      );
    }
    // gzip: the same package, compressed several times faster than the release's xz (a build to be checked).
    file = (await buildDeb({ binariesDir, outDir: dir, compression: 'gzip' })).path;
    source = `build-deb from ${bins.source}`;
  }
  const newer = await newerBuild(file, dir);
  return {
    file,
    newer: newer.file,
    newerVersion: newer.version,
    expectedUpstream: debianUpstream(debianVersion(bins.expectedVersion)),
    source,
  };
}
