/**
 * The lab registry's `busybox:1.37` stand-in: Debian's busybox-static (riscv64 through the lab's Debian
 * mirror, amd64 and arm64 from the upstream index, each verified), one static binary and its applet links. The Buildx, rootless and broken-setup fixtures build FROM it, as BuildKit's own integration
 * tests build FROM busybox: under TCG, unpacking the 40 MB debian stand-in costs about 30 s per builder
 * and per `prune -af`; this layer is under 1 MB. On a real runner `busybox:1.37` is Docker Hub's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEBIAN_ARCHIVE_KEYRING, type DebianIndex, releaseSha256, verifiedRelease } from './debian-index.ts';
import { rootfsTar } from './rootfs-tar.ts';

export const BUSYBOX_REPOSITORY = 'library/busybox';
export const BUSYBOX_TAG = '1.37';

/** The applets linked in /bin: the ones scripts use (the real image links all of them). */
const APPLETS = (
  '[ [[ ash awk base64 basename cat chmod chown cmp cp cut date dd df diff dirname du echo env expr ' +
  'false find grep gunzip gzip head hostname id kill ln ls md5sum mkdir mktemp mv nc od printf ps pwd ' +
  'readlink realpath rm rmdir sed seq sh sha1sum sha256sum sha512sum sleep sort stat tail tar tee test ' +
  'touch tr true uname uniq wc wget which whoami xargs yes'
).split(' ');

export interface Stanza {
  version: string;
  filename: string;
  sha256: string;
}

/** The stanza of binary package `name` in a Packages index. */
export function packageStanza(packages: string, name: string): Stanza | undefined {
  const stanza = packages.split(/\n\n+/).find((s) => s.split('\n').includes(`Package: ${name}`));
  const field = (name: string) => stanza && new RegExp(`^${name}: (.+)$`, 'm').exec(stanza)?.[1]?.trim();
  const [version, filename, sha256] = [field('Version'), field('Filename'), field('SHA256')];
  return version && filename && sha256 ? { version, filename, sha256 } : undefined;
}

async function get(url: string): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5 * 60_000) });
  if (!res.ok) throw new Error(`lab: ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** A .deb checked against the SHA256 its Packages index gives. */
async function verifiedDeb(url: string, want: Stanza): Promise<Buffer> {
  const deb = await get(url);
  const sha = createHash('sha256').update(deb).digest('hex');
  if (sha !== want.sha256) throw new Error(`lab: ${url} has sha256 ${sha}, its index says ${want.sha256}`);
  return deb;
}

function checkedVersion(found: Stanza | undefined, where: string): Stanza {
  if (!found) throw new Error(`lab: ${where} lists no busybox-static`);
  if (!/^(\d+:)?1\.37\./.test(found.version))
    throw new Error(
      `lab: ${where} has busybox-static ${found.version}; the fixtures build FROM busybox:${BUSYBOX_TAG}`,
    );
  return found;
}

/**
 * A riscv64 package through the lab's Debian mirror (its pinned index; the pool checked against it), its
 * stanza checked by `check` (which throws when it is not the one wanted).
 */
export async function pinnedDeb(
  mirror: string,
  suite: string,
  name: string,
  check: (found: Stanza | undefined, where: string) => Stanza = (found, where) => {
    if (!found) throw new Error(`lab: ${where} lists no ${name}`);
    return found;
  },
): Promise<Buffer> {
  const index = `${mirror}/dists/${suite}/main/binary-riscv64/Packages`;
  const found = check(packageStanza((await get(index)).toString('utf8'), name), index);
  return verifiedDeb(`${mirror}/${found.filename}`, found);
}

/**
 * Another architecture's busybox-static from the upstream mirror the lab was provisioned from: its
 * InRelease verified with gpgv, Packages.xz against the InRelease, the .deb against Packages.
 */
async function upstreamDeb(index: DebianIndex, arch: string): Promise<Buffer> {
  const base = `${index.mirror.replace(/\/+$/, '')}/dists/${index.name}`;
  const release = await verifiedRelease(await get(`${base}/InRelease`), DEBIAN_ARCHIVE_KEYRING);
  const path = `main/binary-${arch}/Packages.xz`;
  const want = releaseSha256(release).get(path);
  const xz = await get(`${base}/${path}`);
  const sha = createHash('sha256').update(xz).digest('hex');
  if (!want || sha !== want.sha256)
    throw new Error(`lab: ${base}/${path} does not match its InRelease (mirror mid-sync?)`);
  const text = (await execa('xz', ['-dc'], { input: xz, maxBuffer: 512 * 1024 * 1024 })).stdout;
  const found = checkedVersion(packageStanza(text, 'busybox-static'), `${base}/${path}`);
  return verifiedDeb(`${index.mirror.replace(/\/+$/, '')}/${found.filename}`, found);
}

/** The root filesystem of the stand-in around one busybox-static .deb, as an uncompressed tar at `out`. */
function busyboxTar(deb: Buffer, out: string): Promise<void> {
  return rootfsTar(out, async (root, work) => {
    await writeFile(join(work, 'busybox.deb'), deb);
    await execa('dpkg-deb', ['-x', join(work, 'busybox.deb'), join(work, 'deb')]);
    for (const d of ['bin', 'etc', 'root', 'tmp', 'var', 'home', 'usr/sbin'])
      await mkdir(join(root, d), { recursive: true });
    await chmod(join(root, 'tmp'), 0o1777);
    await execa('cp', [join(work, 'deb', 'usr', 'bin', 'busybox'), join(root, 'bin', 'busybox')]);
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    await writeFile(
      join(root, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
    );
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  });
}

export interface BusyboxSources {
  /** The lab's Debian mirror as this machine reaches it (http://127.0.0.1:PORT/debian). */
  mirror: string;
  suite: string;
  /** The upstream index the lab was provisioned from (for amd64 and arm64), when recorded. */
  index: DebianIndex | undefined;
}

/**
 * The stand-in's root filesystem for one architecture, made once into the lab cache (`out`). riscv64
 * comes through the lab's pinned mirror; amd64 and arm64 from upstream, verified (a mirror mid-sync
 * throws, and the caller pushes riscv64 alone).
 */
export async function busyboxRootfs(src: BusyboxSources, debArch: string, out: string): Promise<void> {
  if (existsSync(out)) return;
  if (debArch === 'riscv64')
    return busyboxTar(await pinnedDeb(src.mirror, src.suite, 'busybox-static', checkedVersion), out);
  if (!src.index) throw new Error('lab: no recorded Debian index to fetch busybox-static from');
  return busyboxTar(await upstreamDeb(src.index, debArch), out);
}
