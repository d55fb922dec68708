/**
 * The lab registry's `registry:3` stand-in (riscv64): Debian's docker-registry (distribution 2.8, the
 * same v2 API) with the libc it links, from the lab's pinned Debian mirror. The run-owned registry
 * (harness/run/run-registry.ts) starts it on the target as a board starts Docker Hub's `registry:3`, with the
 * same configuration path and port. The lab VM reaches no Docker Hub; a board does.
 */
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { pinnedDeb } from './busybox.ts';
import { rootfsTar } from './rootfs-tar.ts';

export const REGISTRY_REPOSITORY = 'library/registry';
export const REGISTRY_TAG = '3';
/** Where `registry:3` reads its configuration, and what it runs. */
export const REGISTRY_CMD = ['/usr/bin/docker-registry', 'serve', '/etc/distribution/config.yml'];

const CONFIG = [
  'version: 0.1',
  'log: { level: info }',
  'storage: { filesystem: { rootdirectory: /var/lib/registry }, delete: { enabled: true } }',
  'http: { addr: ":5000" }',
  '',
].join('\n');

/** The stand-in's root filesystem as an uncompressed tar at `out`, made once into the lab cache. */
export async function registryRootfs(mirror: string, suite: string, out: string): Promise<void> {
  if (existsSync(out)) return;
  await rootfsTar(out, async (root, work) => {
    for (const pkg of ['docker-registry', 'libc6']) {
      await writeFile(join(work, `${pkg}.deb`), await pinnedDeb(mirror, suite, pkg));
      await execa('dpkg-deb', ['-x', join(work, `${pkg}.deb`), join(work, pkg)]);
    }
    const lib = 'usr/lib/riscv64-linux-gnu';
    for (const d of [lib, 'usr/bin', 'lib', 'etc/distribution', 'var/lib/registry', 'tmp'])
      await mkdir(join(root, d), { recursive: true });
    await execa('cp', [join(work, 'docker-registry', 'usr/bin/docker-registry'), join(root, 'usr/bin/')]);
    for (const so of ['ld-linux-riscv64-lp64d.so.1', 'libc.so.6'])
      await execa('cp', [join(work, 'libc6', lib, so), join(root, lib, so)]);
    // The interpreter the binary names (merged /usr: /lib is /usr/lib on Debian).
    await symlink(`/${lib}/ld-linux-riscv64-lp64d.so.1`, join(root, 'lib/ld-linux-riscv64-lp64d.so.1'));
    await writeFile(join(root, 'etc/distribution/config.yml'), CONFIG);
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/false\n');
  });
}
