/**
 * `build-image --push`: the image is published by the BuildKit it carries. A Buildx docker-container
 * builder runs the image just built (`--driver-opt image=<id>`), builds the same context again (its apt
 * step from the inline cache of the tags Docker's build pushed just before) with provenance (mode=max)
 * and an SBOM, and pushes every tag again with both attached. The builder is registered for removal before it exists.
 * It fetches phase 1's tarball over HTTP from a run-owned registry, checked by its SHA256 (SHA256SUMS).
 */
import type { BuiltImage, ImageContext } from '../../build/image.ts';
import { buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import type { Config } from '../plan/config.ts';
import { startRegistry } from '../run/run-registry.ts';
import { buildxOn, createBuilder } from '../sandbox/buildx-builder.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { Target } from '../target/target.ts';

export interface Published {
  digest: string;
  seconds: number;
}

export async function publishAttested(
  o: { target: Target; resources: ResourceTracker; config: Config },
  built: BuiltImage,
  context: ImageContext,
  workDir: string,
): Promise<Published> {
  const { pushAttested } = await import('../../build/image.ts');
  const name = o.resources.name('publish');
  const toml = buildkitdToml(o.config.registryMirror);
  const args = ['--driver', 'docker-container', '--driver-opt', `image=${built.imageId}`];
  if (toml) {
    await o.target.writeFile(`${workDir}/buildkitd.toml`, toml);
    args.push('--buildkitd-config', `${workDir}/buildkitd.toml`);
  }
  await createBuilder(o.target, o.resources, name, args, async () => {
    const logs = await o.target.exec(['docker', 'logs', '--tail', '40', `buildx_buildkit_${name}0`], {
      reject: false,
    });
    return `${logs.stdout}${logs.stderr}`;
  });
  // A registry the lab or the user mirrors through speaks plain HTTP (the lab's).
  const insecure = Boolean(
    o.config.registryMirror && built.tags[0]!.startsWith(`${o.config.registryMirror}/`),
  );
  // Phase 1's tarball reaches the builder over HTTP, from a registry of this run's own (removed with
  // it), by its SHA256 in SHA256SUMS: the provenance names it among the materials.
  const served = await startRegistry(o);
  const pushed = await pushAttested(context, {
    binariesRegistry: served.forBuilders,
    buildx: (a, options) => buildxOn(o.target, name, a, options),
    names: built.tags,
    insecure,
    cacheFrom: built.tags,
    workDir,
    target: o.target,
  });
  return { digest: pushed.digest, seconds: Math.round(pushed.durationMs / 1000) };
}
