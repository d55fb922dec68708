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
import { pushBlob } from '../harness/docker/registry-blob.ts';
import type { Target } from '../harness/target/target.ts';
import { CommandError, type CommandResult } from '../helpers/command-result.ts';
import { debianMirrorSyncHint } from '../helpers/errors.ts';
import { tagsFor } from '../helpers/image-tags.ts';
import { listedSha256 } from '../helpers/release-files.ts';
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
  /** The context it was built from, for a second build of it (the attested push). */
  context: ImageContext;
}

/** The build context on the target, and what every build of it (Docker's, or an attested one) is given. */
export interface ImageContext {
  /** The context directory on the target. */
  dir: string;
  manifest: BuildManifest;
  tags: string[];
  /** `--build-arg K=V ...`: the version, revision, creation time, source and mirror. */
  buildArgs: string[];
  /** The Dockerfile as sent: what the provenance must name. */
  dockerfile: string;
  /** Phase 1's output directory on this machine (its SHA256SUMS names the tarball's SHA256). */
  binariesDir: string;
}

/** Phase 1's output directory, checked: its manifest names a riscv64 build. */
async function phase1Manifest(binariesDir: string): Promise<BuildManifest> {
  const manifestFile = join(binariesDir, 'manifest.json');
  if (!existsSync(manifestFile))
    throw new Error(
      `${binariesDir} has no manifest.json: the image is built from phase 1's output directory (build-binaries --out DIR), which names its tarball, version and revision`,
    );
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as BuildManifest;
  if (manifest.goarch !== 'riscv64') {
    throw new Error(`phase 1's binaries in ${binariesDir} are for ${manifest.goarch}, not riscv64`);
  }
  return manifest;
}

/** Lays out the build context in `workDir/context` on the target. */
export async function imageContext(o: ImageBuildOptions): Promise<ImageContext> {
  const manifest = await phase1Manifest(o.binariesDir);
  const dir = `${o.workDir}/context`;
  const dockerfile = await readFile(o.dockerfile ?? DOCKERFILE, 'utf8');
  await o.target.upload(join(o.binariesDir, manifest.tarball), `${dir}/${manifest.tarball}`);
  await o.target.upload(o.dockerfile ?? DOCKERFILE, `${dir}/Dockerfile`);
  await o.target.upload(ENTRYPOINT, `${dir}/buildkit-entrypoint`, 0o755);
  const created = (o.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const args: Record<string, string | undefined> = {
    BUILDKIT_VERSION: manifest.version,
    BUILDKIT_REVISION: manifest.revision,
    CREATED: created,
    SOURCE: o.source,
    DEBIAN_MIRROR: o.debianMirror,
    // The pushed image carries its build cache inline, so the next build (a fresh VM, a new runner) can reuse it.
    BUILDKIT_INLINE_CACHE: '1',
  };
  const buildArgs = Object.entries(args).flatMap(([k, v]) => (v ? ['--build-arg', `${k}=${v}`] : []));
  const tags = tagsFor(manifest.version, o.repository, o.now);
  return { dir, manifest, tags, buildArgs, dockerfile, binariesDir: o.binariesDir };
}

export async function buildImage(o: ImageBuildOptions): Promise<BuiltImage> {
  const context = await imageContext(o);
  const { manifest, tags } = context;
  const args = [
    'docker',
    'build',
    '--progress',
    'plain',
    '--platform',
    'linux/riscv64',
    ...context.buildArgs,
    ...(o.cacheFromTags ? tags.flatMap((t) => ['--cache-from', t]) : []),
    ...(o.cacheFrom ?? []).flatMap((ref) => ['--cache-from', ref]),
    ...Object.entries(o.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...tags.flatMap((t) => ['-t', t]),
    '--iidfile',
    `${o.workDir}/iid`,
    context.dir,
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
  return {
    tags,
    ref: tags[0]!,
    imageId,
    digests,
    manifest,
    durationMs: r.durationMs,
    progress: r.stderr,
    context,
  };
}

/** BuildKit's default SBOM generator (Docker Hub's; the lab registry serves a stand-in under its name). */
export const SBOM_GENERATOR = 'docker/buildkit-syft-scanner:stable-1';

export interface AttestedPushOptions {
  /** `docker buildx <args>` against a builder of the BuildKit under test. */
  buildx: (args: string[], options: { reject: false; timeoutMs: number }) => Promise<CommandResult>;
  /** Where the image goes: one or more names (`registry/repo:tag`), pushed with its attestations. */
  names: string[];
  /** The SBOM generator image (default: BuildKit's). */
  sbomGenerator?: string;
  /** A registry that speaks plain HTTP (the lab's, a run-owned one). */
  insecure?: boolean;
  /** Images whose inline build cache to reuse (the same Dockerfile pushed before). */
  cacheFrom?: string[];
  /** Where buildx writes its metadata file on the target. */
  workDir: string;
  target: Target;
  /**
   * host:port of a plain-HTTP registry the builder reaches (the run's own): phase 1's tarball is
   * uploaded there as a blob by its SHA256SUMS entry and fetched over HTTP (`BINARIES_SOURCE=http`),
   * checked against that SHA256, so the provenance names it among its materials.
   */
  binariesRegistry: string;
}

export interface AttestedPush {
  /** The pushed index's digest (the image with its attestation manifests). */
  digest: string;
  names: string[];
  durationMs: number;
  progress: string;
  /** Phase 1's tarball the build fetched, by its SHA256SUMS entry: what the provenance must name. */
  binaries: Phase1Tarball;
}

export interface Phase1Tarball {
  tarball: string;
  sha256: string;
}

/** The tarball phase 1's output directory names (manifest.json) and its SHA256SUMS entry. */
export async function phase1Tarball(binariesDir: string): Promise<Phase1Tarball> {
  const { tarball } = await phase1Manifest(binariesDir);
  return { tarball, sha256: await listedSha256(binariesDir, tarball) };
}

/**
 * Builds the context again on a builder of the BuildKit under test (never the engine's own BuildKit,
 * whose provenance would name Docker's version) with provenance (mode=max) and an SBOM, and pushes the
 * image with both attached. Returns the pushed index's digest, from buildx's metadata file.
 */
export async function pushAttested(context: ImageContext, o: AttestedPushOptions): Promise<AttestedPush> {
  const binaries = await phase1Tarball(context.binariesDir);
  const binariesUrl = await pushBlob(o.target, {
    registry: o.binariesRegistry,
    repository: `bka/${binaries.tarball}`,
    file: `${context.dir}/${binaries.tarball}`,
    sha256: binaries.sha256,
  });
  const metadata = `${o.workDir}/attested-metadata.json`;
  const output = [
    'type=image',
    `"name=${o.names.join(',')}"`,
    'push=true',
    ...(o.insecure ? ['registry.insecure=true'] : []),
  ].join(',');
  const r = await o.buildx(
    [
      ...['build', '--progress', 'plain', '--platform', 'linux/riscv64'],
      ...['--provenance', 'mode=max', '--sbom', `generator=${o.sbomGenerator ?? SBOM_GENERATOR}`],
      ...context.buildArgs,
      ...['--build-arg', 'BINARIES_SOURCE=http', '--build-arg', `BINARIES_URL=${binariesUrl}`],
      ...['--build-arg', `BINARIES_SHA256=${binaries.sha256}`],
      ...(o.cacheFrom ?? []).flatMap((ref) => ['--cache-from', `type=registry,ref=${ref}`]),
      ...['--metadata-file', metadata, '--output', output],
      context.dir,
    ],
    { reject: false, timeoutMs: 40 * 60_000 },
  );
  if (r.failed) {
    const hint = debianMirrorSyncHint(`${r.stdout}\n${r.stderr}`, '--debian-mirror');
    throw new CommandError(r, {
      context: 'building and pushing the image with provenance and an SBOM on the BuildKit under test',
      hint,
    });
  }
  const meta = JSON.parse((await o.target.readFile(metadata)).toString()) as Record<string, unknown>;
  const digest = meta['containerimage.digest'];
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new Error(
      `buildx's metadata names no pushed digest (containerimage.digest): ${JSON.stringify(meta).slice(0, 500)}`,
    );
  return { digest, names: o.names, durationMs: r.durationMs, progress: r.stderr, binaries };
}
