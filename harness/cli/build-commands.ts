import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../helpers/errors.ts';
import type { Config } from '../plan/config.ts';
import { openTarget, planTarget, preflight } from '../run/session.ts';
import { ResourceTracker } from '../target/resources.ts';
import { EXIT } from './help.ts';
import { publishAttested } from './publish-image.ts';
import { say } from './say.ts';

/** Phase 1's output directory: --binaries, else the riscv64 build of the ref (made now, or cached). */
async function phase1Output(config: Config, command: string, holds: string): Promise<string> {
  const { buildBinaries } = await import('../../build/binaries.ts');
  const dir =
    config.binaries ?? (await buildBinaries({ ref: config.buildkitRef, goarch: 'riscv64', log: say })).dir;
  if (!existsSync(join(dir, 'manifest.json')))
    throw new ConfigError(`--binaries ${dir}: ${command} needs phase 1's output directory (${holds})`);
  return dir;
}

/**
 * Phase 2's build script as a command: builds the image on the target from phase 1's output (given with
 * --binaries, else built for riscv64 now), tags it by the convention, and pushes when asked.
 */
export async function buildImageCommand(config: Config, push: boolean): Promise<number> {
  const { buildImage } = await import('../../build/image.ts');
  const { repositoryFor } = await import('../subjects/image-under-test.ts');
  const binariesDir = await phase1Output(config, 'build-image', 'manifest.json and the release tarball');
  const plan = await planTarget(config);
  const target = openTarget(plan.config, say);
  const resources = new ResourceTracker(target);
  try {
    await preflight(target, plan.config);
    const repository = repositoryFor(plan.config);
    say(
      `build-image: building on ${target.host} for ${repository}${push ? ', then publishing with provenance and an SBOM from the BuildKit it carries' : ''} ...`,
    );
    const workDir = await resources.tempDir('build-image');
    const built = await buildImage({
      target,
      binariesDir,
      repository,
      workDir,
      debianMirror: plan.config.debianMirror,
      source: plan.config.projectRepository?.url,
      cacheFromTags: push,
      // Pushed first as Docker built it (its inline cache in the registry): the attested build of the
      // same context on the image's own BuildKit takes its apt step from there, then re-points every tag.
      push,
    });
    // Every tag names the one pushed index: the image and its attestation manifests.
    const published = push
      ? await publishAttested({ target, resources, config: plan.config }, built, built.context, workDir)
      : undefined;
    const digests = Object.fromEntries(built.tags.map((t) => [t, published?.digest]));
    process.stdout.write(
      `${JSON.stringify({ tags: built.tags, imageId: built.imageId, pushed: push, digest: published?.digest, digests: published ? digests : {}, attestations: published ? ['provenance mode=max', 'sbom'] : [], version: built.manifest.version, revision: built.manifest.revision, seconds: Math.round(built.durationMs / 1000), publishSeconds: published?.seconds }, null, 2)}\n`,
    );
    return EXIT.ok;
  } finally {
    await resources.cleanup();
    await target.close();
  }
}

/**
 * The Debian package's build script as a command: buildkit_<version>_<arch>.deb from phase 1's output
 * (given with --binaries, else built for riscv64 now), into --out (default out/deb).
 */
export async function buildDebCommand(
  config: Config,
  outDir: string | undefined,
  revision?: string,
): Promise<number> {
  const { buildDeb } = await import('../../build/deb.ts');
  const binariesDir = await phase1Output(config, 'build-deb', 'manifest.json and bin/');
  const out = await buildDeb({ binariesDir, outDir: resolve(outDir ?? 'out/deb'), revision });
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return EXIT.ok;
}
