import { join } from 'node:path';
import type { Config } from '../harness/config.ts';
import type { PhaseContext } from '../harness/phase-context.ts';
import { defaultImageRepository } from '../harness/project-repository.ts';
import { RUN_LABEL } from '../harness/resources.ts';
import { releaseFromTag } from '../helpers/image-tags.ts';
import { buildBinaries, resolveRef } from './binaries.ts';
import { buildImage } from './image.ts';

/** The image under test and what it must say about itself. */
export interface ImageUnderTest {
  ref: string;
  /** The local image id (sha256:...): what every container of the phase must run. */
  id: string;
  tags: string[];
  /** From what was asked for (the ref, resolved by the Go module proxy, or a release tag), never the image. */
  expectedVersion: string | undefined;
  expectedRevision: string | undefined;
  expectedFrom: string;
  source: string;
  buildMs?: number;
  builtAt?: Date;
}

/**
 * Where the image is tagged and pushed: a repository given by the user as it is; the default one
 * (derived from this project's GitHub owner, lower-cased, or a local name) moves to the registry
 * mirror when there is one (the lab's registry), so that a run pushes only where it may.
 */
export function repositoryFor(config: Config): string {
  if (config.imageRepository !== defaultImageRepository(config.projectRepository))
    return config.imageRepository;
  if (config.registryMirror) return `${config.registryMirror}/bka/buildkit-riscv64`;
  return config.imageRepository;
}

/** Builds the image on the target from phase 1's archive (or takes --image), tracked for removal. */
export async function imageUnderTest(ctx: PhaseContext): Promise<ImageUnderTest> {
  const { config, target, resources } = ctx;
  if (config.image) {
    // As Buildx does with a driver image: pull, and fall back to the local store only when that fails
    // (an image another tool built and never pushed), so every check sees the same image Buildx will.
    const pull = await target.exec(['docker', 'pull', '-q', config.image], {
      reject: false,
      timeoutMs: 20 * 60_000,
    });
    if (pull.failed) {
      await target.exec(['docker', 'image', 'inspect', config.image], {
        context: `--image ${config.image}: the pull failed (${pull.stderr.trim().split('\n').pop()}) and it is not in the target's local store`,
      });
    }
    const digest = (
      await target.exec(['docker', 'image', 'inspect', '-f', '{{.Id}}', config.image])
    ).stdout.trim();
    return {
      ref: config.image,
      id: digest,
      tags: [config.image],
      expectedVersion: releaseFromTag(config.image),
      expectedRevision: undefined,
      expectedFrom: releaseFromTag(config.image)
        ? `the release tag ${config.image}`
        : `--image ${config.image} (not a release tag: the version is checked against the binaries only)`,
      source: `--image ${config.image} (${digest})`,
    };
  }
  const bins = await buildBinaries({
    ref: config.buildkitRef,
    goarch: 'riscv64',
    log: (l) => process.stderr.write(`${l}\n`),
  });
  const asked = await resolveRef(config.buildkitRef);
  const workDir = await resources.tempDir('image');
  const builtAt = new Date();
  const built = await buildImage({
    now: builtAt,
    target,
    binariesDir: bins.dir,
    repository: repositoryFor(config),
    workDir,
    debianMirror: config.debianMirror,
    source: config.projectRepository?.url,
    // The lab's registry keeps what earlier runs pushed: its inline cache spares the apt step under TCG.
    cacheFromTags: Boolean(config.registryMirror),
    labels: { [RUN_LABEL]: resources.runId },
  });
  for (const t of built.tags) resources.image(t);
  return {
    ref: built.ref,
    id: built.imageId,
    tags: built.tags,
    expectedVersion: asked.version,
    expectedRevision: asked.revision,
    expectedFrom: `--buildkit-ref ${config.buildkitRef}, resolved by the Go module proxy`,
    builtAt,
    source: `built on the target from ${join(bins.dir, bins.manifest.tarball)} (${bins.manifest.mode})`,
    buildMs: built.durationMs,
  };
}
