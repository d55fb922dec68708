/** A stand-in image's root filesystem, filled in a work dir and written as an uncompressed tar (root-owned). */
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

/**
 * Calls `fill(root, work)` with an empty `root` and a scratch `work` dir, then writes `root` as a tar at
 * `out` (through `out.partial`, so a killed build leaves no half tar under the final name).
 */
export async function rootfsTar(
  out: string,
  fill: (root: string, work: string) => Promise<void>,
): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  const work = await mkdtemp(`${out}.work-`);
  try {
    const root = join(work, 'root');
    await mkdir(root);
    await fill(root, work);
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
