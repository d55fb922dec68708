/**
 * The Debian package's build script: `buildkit_<version>_<arch>.deb` from phase 1's output (its
 * manifest.json and bin/), with upstream's systemd units (examples/systemd, paths in /usr/bin, socket
 * activation), the rootless user unit, a conffile /etc/buildkit/buildkitd.toml of commented defaults,
 * and maintainer scripts that enable and start the socket on install, stop it on remove, and remove
 * /var/lib/buildkit only on purge (build/deb/). Built with `dpkg-deb` from a staged tree: it is in
 * every Debian (the board has it), needs no source package or build dependencies (debhelper would)
 * and no Go build of its own (nfpm would). Reproducible: every mtime is SOURCE_DATE_EPOCH (default:
 * the binaries' build time), owners root, entries in name order, so the same inputs give the same bytes.
 *
 *   buildkit-acceptance build-deb [--binaries DIR] [--out DIR] [--deb-revision N]
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { localTempDir } from '../harness/target/local-temp.ts';
import { debianArch, debianVersion } from '../helpers/deb-version.ts';
import type { BuildManifest } from './binaries.ts';

const FILES = fileURLToPath(new URL('./deb/', import.meta.url));
const MAINTAINER = 'buildkit-riscv64-acceptance <buildkit-riscv64-acceptance@users.noreply.github.com>';
export const DEB_PACKAGE = 'buildkit';
export const CONFFILE = '/etc/buildkit/buildkitd.toml';

export interface DebOptions {
  /** Phase 1's output directory (manifest.json, bin/buildkitd, bin/buildctl). */
  binariesDir: string;
  outDir: string;
  /** The Debian revision (default 1): a rebuild of the same BuildKit is a higher one. */
  revision?: string;
  /** xz (default: the release's, smallest) or gzip (several times faster, for a package built only to be checked). */
  compression?: 'xz' | 'gzip';
  /** Seconds since the epoch for every timestamp (default: SOURCE_DATE_EPOCH, else the binaries' build time). */
  sourceDateEpoch?: number;
}

export interface DebOutput {
  path: string;
  package: string;
  version: string;
  arch: string;
  sha256: string;
}

/** [path in the package, file in build/deb, mode]. */
const STAGED: Array<[string, string, number]> = [
  ['usr/lib/systemd/system/buildkit.socket', 'buildkit.socket', 0o644],
  ['usr/lib/systemd/system/buildkit.service', 'buildkit.service', 0o644],
  ['usr/lib/systemd/user/buildkit.service', 'user/buildkit.service', 0o644],
  ['etc/buildkit/buildkitd.toml', 'buildkitd.toml', 0o644],
  ['usr/share/doc/buildkit/copyright', 'copyright', 0o644],
  ['usr/share/lintian/overrides/buildkit', 'lintian-overrides', 0o644],
  ['DEBIAN/postinst', 'postinst', 0o755],
  ['DEBIAN/prerm', 'prerm', 0o755],
  ['DEBIAN/postrm', 'postrm', 0o755],
];

function control(o: { version: string; arch: string; installedKiB: number; m: BuildManifest }): string {
  return [
    `Package: ${DEB_PACKAGE}`,
    `Version: ${o.version}`,
    `Architecture: ${o.arch}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${o.installedKiB}`,
    'Depends: runc, init-system-helpers (>= 1.54~)',
    'Recommends: containerd, rootlesskit, uidmap',
    'Suggests: docker-buildx',
    'Section: admin',
    'Priority: optional',
    'Homepage: https://github.com/moby/buildkit',
    'Description: concurrent, cache-efficient, Dockerfile-agnostic builder toolkit',
    ' BuildKit is the builder behind docker build and Buildx: buildkitd, the daemon',
    ' (started by socket activation at /run/buildkit/buildkitd.sock, or rootless as',
    ' a user unit), and buildctl, its client.',
    ' .',
    ` Built from BuildKit ${o.m.version} with ${o.m.goVersion}; revision`,
    ` ${o.m.revision}.`,
    '',
  ].join('\n');
}

function changelog(version: string, m: BuildManifest, epoch: number): string {
  const date = new Date(epoch * 1000).toUTCString().replace('GMT', '+0000');
  return [
    `${DEB_PACKAGE} (${version}) unstable; urgency=medium`,
    '',
    `  * BuildKit ${m.version}, built by buildkit-riscv64-acceptance.`,
    `    Revision ${m.revision}.`,
    '',
    ` -- ${MAINTAINER}  ${date}`,
    '',
  ].join('\n');
}

async function readManifest(dir: string): Promise<BuildManifest> {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file))
    throw new Error(`${dir}: build-deb needs phase 1's output directory (manifest.json and bin/)`);
  return JSON.parse(await readFile(file, 'utf8')) as BuildManifest;
}

export async function buildDeb(o: DebOptions): Promise<DebOutput> {
  const m = await readManifest(o.binariesDir);
  const version = debianVersion(m.version, o.revision ?? '1');
  const arch = debianArch(m.goarch);
  const epoch =
    o.sourceDateEpoch ??
    (process.env.SOURCE_DATE_EPOCH
      ? Number(process.env.SOURCE_DATE_EPOCH)
      : Math.floor(Date.parse(m.builtAt) / 1000));
  if (!Number.isInteger(epoch) || epoch <= 0) throw new Error(`no usable SOURCE_DATE_EPOCH (${epoch})`);
  const stage = await localTempDir('deb-stage');
  try {
    for (const [to, from, mode] of [
      ['usr/bin/buildkitd', join(o.binariesDir, 'bin', 'buildkitd'), 0o755],
      ['usr/bin/buildctl', join(o.binariesDir, 'bin', 'buildctl'), 0o755],
      ...STAGED.map(([to, from, mode]) => [to, join(FILES, from), mode]),
    ] as Array<[string, string, number]>) {
      await mkdir(join(stage, to, '..'), { recursive: true });
      await copyFile(from, join(stage, to));
      await chmod(join(stage, to), mode);
    }
    const doc = join(stage, 'usr/share/doc/buildkit');
    // Binary output: execa strips a final newline byte unless told not to, also from a buffer.
    const gz = await execa('gzip', ['-9n'], {
      input: changelog(version, m, epoch),
      encoding: 'buffer',
      stripFinalNewline: false,
    });
    await writeFile(join(doc, 'changelog.Debian.gz'), gz.stdout);
    await writeFile(join(stage, 'DEBIAN/conffiles'), `${CONFFILE}\n`);
    const files = (
      await execa('find', ['.', '-path', './DEBIAN', '-prune', '-o', '-type', 'f', '-print'], { cwd: stage })
    ).stdout
      .split('\n')
      .map((f) => f.slice(2))
      .sort();
    let bytes = 0;
    const sums: string[] = [];
    for (const f of files) {
      const data = await readFile(join(stage, f));
      bytes += data.length;
      sums.push(`${createHash('md5').update(data).digest('hex')}  ${f}`);
    }
    await writeFile(join(stage, 'DEBIAN/md5sums'), `${sums.join('\n')}\n`);
    await writeFile(
      join(stage, 'DEBIAN/control'),
      control({ version, arch, installedKiB: Math.ceil(bytes / 1024), m }),
    );
    await execa('find', [stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);
    await execa('find', [stage, '-exec', 'touch', '-h', '-d', `@${epoch}`, '{}', '+']);
    await mkdir(o.outDir, { recursive: true });
    const path = join(o.outDir, `${DEB_PACKAGE}_${version}_${arch}.deb`);
    await execa('dpkg-deb', ['--root-owner-group', `-Z${o.compression ?? 'xz'}`, '--build', stage, path], {
      env: { SOURCE_DATE_EPOCH: String(epoch) },
    });
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    await writeFile(`${path}.sha256`, `${sha256}  ${DEB_PACKAGE}_${version}_${arch}.deb\n`);
    return { path, package: DEB_PACKAGE, version, arch, sha256 };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
