import { join } from 'node:path';
import { buildBinaries, resolveRef } from '../../build/binaries.ts';
import { buildImage } from '../../build/image.ts';
import { releaseFromTag } from '../../helpers/image-tags.ts';
import type { Config } from '../plan/config.ts';
import { defaultImageRepository } from '../plan/project-repository.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import { RUN_LABEL } from '../target/resources.ts';

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
    const release = releaseFromTag(config.image);
    // Never the image's own labels: a release tag says its version; any other tag is checked against the
    // BuildKit ref asked for (--buildkit-ref, its default when not given), as the Go module proxy resolves it.
    const asked = release ? undefined : await resolveRef(config.buildkitRef);
    return {
      ref: config.image,
      id: digest,
      tags: [config.image],
      expectedVersion: release ?? asked?.version,
      expectedRevision: asked?.revision,
      expectedFrom: release
        ? `the release tag ${config.image}`
        : `--buildkit-ref ${config.buildkitRef}, resolved by the Go module proxy (--image ${config.image} is not a release tag)`,
      source: `--image ${config.image} (${digest})`,
    };
  }
  const asked = await resolveRef(config.buildkitRef);
  const expected = {
    expectedVersion: asked.version,
    expectedRevision: asked.revision,
    expectedFrom: `--buildkit-ref ${config.buildkitRef}, resolved by the Go module proxy`,
  };
  // Built once per run: a later phase takes the image an earlier phase of this run built (its run label).
  const earlier = await imageOfThisRun(ctx, repositoryFor(config));
  if (earlier) return { ...earlier, ...expected };
  const inputs = await imageBuildInputs(ctx);
  const workDir = await resources.tempDir('image');
  const builtAt = new Date();
  const built = await buildImage({
    ...inputs,
    now: builtAt,
    target,
    repository: repositoryFor(config),
    workDir,
    // The lab's registry keeps what earlier runs pushed: its inline cache spares the apt step under TCG.
    cacheFromTags: Boolean(config.registryMirror),
    labels: { [RUN_LABEL]: resources.runId },
  });
  // Not removed with this file: later phases of the run share it; the run's janitor pass removes it (label).
  return {
    ref: built.ref,
    id: built.imageId,
    tags: built.tags,
    ...expected,
    builtAt,
    source: `built on the target from ${inputs.from}`,
    buildMs: built.durationMs,
  };
}

/**
 * What the image is built from: phase 1's output as given (--binaries, as a board's nightly gives it),
 * else the build script's (cached after the first), the Debian mirror and this project's source URL.
 */
export async function imageBuildInputs(ctx: PhaseContext): Promise<{
  binariesDir: string;
  from: string;
  debianMirror: string | undefined;
  source: string | undefined;
}> {
  const { config } = ctx;
  const bins = config.binaries
    ? { dir: config.binaries, from: `--binaries ${config.binaries}` }
    : await buildBinaries({
        ref: config.buildkitRef,
        goarch: 'riscv64',
        log: (l) => process.stderr.write(`${l}\n`),
      }).then((b) => ({ dir: b.dir, from: `${join(b.dir, b.manifest.tarball)} (${b.manifest.mode})` }));
  return {
    binariesDir: bins.dir,
    from: bins.from,
    debianMirror: config.debianMirror,
    source: config.projectRepository?.url,
  };
}

/** The image an earlier phase of this run built (same repository, this run's label), or undefined. */
async function imageOfThisRun(
  ctx: PhaseContext,
  repository: string,
): Promise<Omit<ImageUnderTest, 'expectedVersion' | 'expectedRevision' | 'expectedFrom'> | undefined> {
  const r = await ctx.target.exec(
    [
      ...['docker', 'images', '--no-trunc', '--filter', `label=${RUN_LABEL}=${ctx.resources.runId}`],
      ...['--filter', `reference=${repository}`, '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'],
    ],
    { reject: false },
  );
  const rows = r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((row): row is [string, string] => row.length === 2 && !String(row[1]).endsWith(':<none>'));
  const id = rows[0]?.[0];
  if (r.failed || !id || rows.some(([other]) => other !== id)) return undefined;
  const tags = rows.map(([, tag]) => tag);
  return {
    ref: tags[0]!,
    id,
    tags,
    source: `built on the target earlier in this run (${id.slice(0, 19)})`,
  };
}
