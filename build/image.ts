/**
 * The phase's build script: builds the buildkit-riscv64 image on the target from phase 1's release
 * archive with `Dockerfile.buildkit-riscv64`, tags it by the seed's convention, and pushes when asked.
 *
 * Tags: releases `vX.Y.Z-riscv64`; master builds `latest` and `master-YYYYMMDD`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Target } from '../harness/target/target.ts';
import { CommandError } from '../helpers/command-result.ts';
import { debianMirrorSyncHint } from '../helpers/errors.ts';
import { tagsFor } from '../helpers/image-tags.ts';
import type { BuildManifest } from './binaries.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DOCKERFILE = join(ROOT, 'Dockerfile.buildkit-riscv64');
export const ENTRYPOINT = fileURLToPath(new URL('./buildkit-entrypoint', import.meta.url));

export interface ImageBuildOptions {
  target: Target;
  /** Phase 1's output directory (holds the tarball and manifest.json). */
  binariesDir: string;
  /** e.g. ghcr.io/OWNER/buildkit-riscv64, or the lab registry's 10.0.2.2:5311/buildkit-riscv64. */
  repository: string;
  /** A temp dir on the target for the build context. */
  workDir: string;
  /** Extra labels (the run id, so the janitor finds test images). */
  labels?: Record<string, string>;
  /** Replaces the Dockerfile (the broken fixtures). */
  dockerfile?: string;
  push?: boolean;
  /** The Debian archive the image's apt-get uses instead of the base image's sources (the lab's mirror). */
  debianMirror?: string;
  now?: Date;
  source?: string;
  /** Reuse the inline build cache of an earlier push of the same tags (the registry must be reachable). */
  cacheFromTags?: boolean;
  /** Other pushed images whose inline build cache to reuse. */
  cacheFrom?: string[];
}

export interface BuiltImage {
  tags: string[];
  /** The first tag: what the checks run. */
  ref: string;
  imageId: string;
  /** The registry digest of each pushed tag (empty when not pushed). */
  digests: Record<string, string>;
  manifest: BuildManifest;
  durationMs: number;
  /** The build's progress (plain): which steps ran and which came from a cache. */
  progress: string;
}

export async function buildImage(o: ImageBuildOptions): Promise<BuiltImage> {
  const manifestFile = join(o.binariesDir, 'manifest.json');
  if (!existsSync(manifestFile))
    throw new Error(
      `${o.binariesDir} has no manifest.json: the image is built from phase 1's output directory (build-binaries --out DIR), which names its tarball, version and revision`,
    );
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as BuildManifest;
  if (manifest.goarch !== 'riscv64') {
    throw new Error(`phase 1's binaries in ${o.binariesDir} are for ${manifest.goarch}, not riscv64`);
  }
  const ctx = `${o.workDir}/context`;
  await o.target.upload(join(o.binariesDir, manifest.tarball), `${ctx}/${manifest.tarball}`);
  await o.target.upload(o.dockerfile ?? DOCKERFILE, `${ctx}/Dockerfile`);
  await o.target.upload(ENTRYPOINT, `${ctx}/buildkit-entrypoint`, 0o755);
  const tags = tagsFor(manifest.version, o.repository, o.now);
  const created = (o.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const args = [
    'docker',
    'build',
    '--progress',
    'plain',
    '--platform',
    'linux/riscv64',
    '--build-arg',
    `BUILDKIT_VERSION=${manifest.version}`,
    '--build-arg',
    `BUILDKIT_REVISION=${manifest.revision}`,
    '--build-arg',
    `CREATED=${created}`,
    ...(o.source ? ['--build-arg', `SOURCE=${o.source}`] : []),
    ...(o.debianMirror ? ['--build-arg', `DEBIAN_MIRROR=${o.debianMirror}`] : []),
    // The pushed image carries its build cache inline, so the next build (a fresh VM, a new runner) can reuse it.
    '--build-arg',
    'BUILDKIT_INLINE_CACHE=1',
    ...(o.cacheFromTags ? tags.flatMap((t) => ['--cache-from', t]) : []),
    ...(o.cacheFrom ?? []).flatMap((ref) => ['--cache-from', ref]),
    ...Object.entries(o.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...tags.flatMap((t) => ['-t', t]),
    '--iidfile',
    `${o.workDir}/iid`,
    ctx,
  ];
  const r = await o.target.exec(args, { reject: false, timeoutMs: 40 * 60_000 });
  if (r.failed) {
    const hint = debianMirrorSyncHint(`${r.stdout}\n${r.stderr}`, '--debian-mirror');
    throw new CommandError(r, { context: 'building the buildkit-riscv64 image on the target', hint });
  }
  const imageId = (await o.target.readFile(`${o.workDir}/iid`)).toString().trim();
  const digests: Record<string, string> = {};
  if (o.push) {
    for (const t of tags) {
      const pushed = await o.target.exec(['docker', 'push', t], {
        context: `pushing ${t}`,
        timeoutMs: 20 * 60_000,
      });
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
      if (!digest)
        throw new Error(`pushing ${t}: no digest in docker push's output:\n${pushed.stdout.slice(-1000)}`);
      digests[t] = digest;
    }
  }
  return { tags, ref: tags[0]!, imageId, digests, manifest, durationMs: r.durationMs, progress: r.stderr };
}
