/**
 * The lab registry's `busybox:1.37` stand-in: Debian's busybox-static for riscv64, fetched through the
 * lab's Debian mirror (the pinned index; the pool checked against it), one static binary and its applet
 * links. The Buildx, rootless and broken-setup fixtures build FROM it, as BuildKit's own integration
 * tests build FROM busybox: under TCG, unpacking the 40 MB debian stand-in costs about 30 s per builder
 * and per `prune -af`; this layer is under 1 MB. On a real runner `busybox:1.37` is Docker Hub's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export const BUSYBOX_REPOSITORY = 'library/busybox';
export const BUSYBOX_TAG = '1.37';

/** The applets linked in /bin: the ones scripts use (the real image links all of them). */
const APPLETS = (
  '[ [[ ash awk base64 basename cat chmod chown cmp cp cut date dd df diff dirname du echo env expr ' +
  'false find grep gunzip gzip head hostname id kill ln ls md5sum mkdir mktemp mv nc od printf ps pwd ' +
  'readlink realpath rm rmdir sed seq sh sha1sum sha256sum sha512sum sleep sort stat tail tar tee test ' +
  'touch tr true uname uniq wc wget which whoami xargs yes'
).split(' ');

interface Stanza {
  version: string;
  filename: string;
  sha256: string;
}

function busyboxStanza(packages: string): Stanza | undefined {
  const stanza = packages.split(/\n\n+/).find((s) => /^Package: busybox-static$/m.test(s));
  const field = (name: string) => stanza && new RegExp(`^${name}: (.+)$`, 'm').exec(stanza)?.[1]?.trim();
  const [version, filename, sha256] = [field('Version'), field('Filename'), field('SHA256')];
  return version && filename && sha256 ? { version, filename, sha256 } : undefined;
}

async function get(url: string): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5 * 60_000) });
  if (!res.ok) throw new Error(`lab: ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * Writes the stand-in's root filesystem as an uncompressed tar at `out` (once: it is kept in the lab
 * cache). `mirror` is the lab's Debian mirror as this machine reaches it (http://127.0.0.1:PORT/debian).
 */
export async function busyboxRootfs(mirror: string, suite: string, out: string): Promise<void> {
  if (existsSync(out)) return;
  const index = `${mirror}/dists/${suite}/main/binary-riscv64/Packages`;
  const found = busyboxStanza((await get(index)).toString('utf8'));
  if (!found) throw new Error(`lab: ${index} lists no busybox-static`);
  if (!/^(\d+:)?1\.37\./.test(found.version))
    throw new Error(
      `lab: Debian ${suite}'s busybox-static is ${found.version}; the fixtures build FROM busybox:${BUSYBOX_TAG}`,
    );
  const deb = await get(`${mirror}/${found.filename}`);
  const sha = createHash('sha256').update(deb).digest('hex');
  if (sha !== found.sha256)
    throw new Error(`lab: ${found.filename} has sha256 ${sha}, the pinned index says ${found.sha256}`);
  await mkdir(dirname(out), { recursive: true });
  const work = await mkdtemp(`${out}.work-`);
  try {
    await writeFile(join(work, 'busybox.deb'), deb);
    await execa('dpkg-deb', ['-x', join(work, 'busybox.deb'), join(work, 'deb')]);
    const root = join(work, 'root');
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
    await execa('tar', [
      '--numeric-owner',
      '--owner=0',
      '--group=0',
      '-C',
      root,
      '-cf',
      `${out}.partial`,
      '.',
    ]);
    await rename(`${out}.partial`, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
