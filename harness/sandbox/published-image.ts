/**
 * The image as users get it from a registry, with provenance (mode=max) and an SBOM attached by the
 * BuildKit under test: what the supply-chain checks read. Given `--image`, the published image is read
 * where it is; otherwise the phase publishes it as `build-image --push` does: built again on a Buildx
 * builder running the image under test, pushed to the run's registry.
 */
import {
  type ImageContext,
  imageContext,
  type Phase1Tarball,
  phase1Tarball,
  pushAttested,
  SBOM_GENERATOR,
} from '../../build/image.ts';
import { servedDigests } from '../docker/registry-http.ts';
import { awaitBaseImage } from '../run/base-images.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import type { PushRegistry } from '../run/run-registry.ts';
import { type ImageUnderTest, imageBuildInputs, repositoryFor } from '../subjects/image-under-test.ts';
import { startWorker } from './sandbox.ts';
import { withWorkerLogs } from './worker.ts';

export interface PublishedImage {
  /** `registry/repository:tag`, as it was pushed or given. */
  ref: string;
  /** The linux/riscv64 digest the registry serves for it (the pushed index's, when this run pushed it). */
  digest: string;
  /** The registry speaks plain HTTP (the lab's, the run's own). */
  http: boolean;
  /** The build context this run pushed it from (absent for `--image`). */
  context?: ImageContext;
  /** How long the attested build and push took (absent for `--image`). */
  ms?: number;
  /**
   * Phase 1's tarball the provenance must name, by its SHA256SUMS entry: the one this run published it
   * from, or for `--image` the one `--binaries` gives (absent without it: nothing says which it was).
   */
  binaries?: Phase1Tarball;
}

/** `ref` without its tag: the repository a digest is appended to. */
export const repositoryOf = (ref: string): string => ref.replace(/:[^:/]+$/, '');

/** The published image: `--image` as the registry serves it, or the image under test built and pushed attested. */
export async function publishedImage(
  ctx: PhaseContext,
  image: ImageUnderTest,
  registry: PushRegistry,
): Promise<PublishedImage> {
  if (ctx.config.image) {
    // The lab's registry (the mirror) speaks plain HTTP; any other is HTTPS.
    const mirror = ctx.config.registryMirror;
    const http = Boolean(mirror && ctx.config.image.startsWith(`${mirror}/`));
    const [digest] = await servedDigests(ctx.target, ctx.config.image, http, 'linux/riscv64');
    if (!digest) throw new Error(`${ctx.config.image}: the registry serves no linux/riscv64 digest for it`);
    const given = ctx.config.binaries;
    const binaries = given ? await phase1Tarball(given) : undefined;
    return { ref: ctx.config.image, digest, http, binaries };
  }
  const workDir = await ctx.resources.tempDir('attested');
  const context = await imageContext({
    ...(await imageBuildInputs(ctx)),
    target: ctx.target,
    repository: repositoryFor(ctx.config),
    workDir,
    now: image.builtAt,
  });
  // In the lab, the SBOM generator is the lab registry's stand-in, pushed once the lab has built it.
  await awaitBaseImage(ctx, SBOM_GENERATOR, ['linux/riscv64'], { work: 'scanner' });
  const worker = await startWorker(ctx, 'buildx-docker-container', { image });
  const name = `${registry.forBuilders}/bka/supply-chain:${ctx.resources.runId}`;
  const pushed = await withWorkerLogs(worker, () =>
    pushAttested(context, {
      buildx: (args, options) => worker.buildx(args, options),
      names: [name],
      insecure: true,
      // The apt step from the inline cache of the tags the distribution check pushed (the lab's registry).
      cacheFrom: ctx.config.registryMirror ? image.tags : [],
      workDir,
      target: ctx.target,
      // Phase 1's tarball as the builder fetches it, from the run's registry: the provenance names it.
      binariesRegistry: registry.forBuilders,
    }),
  );
  await worker.stop();
  return {
    ref: name,
    digest: pushed.digest,
    http: true,
    context,
    ms: pushed.durationMs,
    binaries: pushed.binaries,
  };
}
