/**
 * What the supply-chain checks expect, each from what was asked for: the Dockerfile frontend version of
 * the asked BuildKit (its source, through the Go module proxy), the base image's digests as the registry
 * serves it, and the Debian packages the image holds (dpkg, run in the image).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sourceDir } from '../../build/binaries.ts';
import { dockerfileFrontendVersion } from '../../helpers/provenance.ts';
import { parseDpkgQuery } from '../../helpers/sbom.ts';
import { servedDigests } from '../docker/registry-http.ts';
import type { PhaseContext } from '../run/phase-context.ts';

/** The asked ref's Dockerfile frontend version, as its provenance must record it. */
export async function askedDockerfileVersion(ref: string, version: string): Promise<string> {
  const file = join(await sourceDir(ref), 'frontend/dockerfile/version/version.go');
  const v = dockerfileFrontendVersion(await readFile(file, 'utf8'), version);
  if (!v) throw new Error(`${file} names no Dockerfile frontend version (const version = "X.Y")`);
  return v;
}

/**
 * `image` (`debian:trixie-slim`) as the registry the builders pull it from serves it: the index digest
 * and the digest of its `platform` manifest (provenance may record either), read from the target.
 */
export async function baseImageDigests(
  ctx: PhaseContext,
  image: string,
  platform: string,
): Promise<string[]> {
  const [name, tag] = image.split(':') as [string, string];
  const mirror = ctx.config.registryMirror;
  return mirror
    ? servedDigests(ctx.target, `${mirror}/library/${name}:${tag}`, true, platform)
    : servedDigests(ctx.target, `registry-1.docker.io/library/${name}:${tag}`, false, platform);
}

/** dpkg-query's format: name, version and status, tab-separated (parseDpkgQuery reads it). */
const DPKG_FORMAT = `${['Package', 'Version', 'db:Status-Abbrev'].map((f) => `\${${f}}`).join('\\t')}\\n`;

/** The Debian packages dpkg lists as installed in `ref` (run with its entrypoint bypassed). */
export async function installedDebianPackages(
  ctx: PhaseContext,
  ref: string,
): Promise<Array<{ name: string; version: string }>> {
  const r = await ctx.target.exec(
    [
      ...['docker', 'run', '--rm', ...ctx.resources.labelFlags, '--entrypoint', 'dpkg-query', ref],
      ...['-W', '-f', DPKG_FORMAT],
    ],
    { context: `dpkg-query in ${ref}`, timeoutMs: 10 * 60_000 },
  );
  return parseDpkgQuery(r.stdout);
}
