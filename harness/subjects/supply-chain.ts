/**
 * What the supply-chain checks expect, each from what was asked for: the Dockerfile frontend version of
 * the asked BuildKit (its source, through the Go module proxy), the base image's digests as the registry
 * serves it, and the Debian packages the image holds (dpkg, run in the image).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODULE, sourceDir } from '../../build/binaries.ts';
import { dockerfileFrontendVersion } from '../../helpers/provenance.ts';
import { parseDpkgQuery } from '../../helpers/sbom.ts';
import { zipEntry } from '../../helpers/zip-entry.ts';
import { servedDigests } from '../docker/registry-http.ts';
import type { PhaseContext } from '../run/phase-context.ts';

const VERSION_GO = 'frontend/dockerfile/version/version.go';

/**
 * The asked ref's Dockerfile frontend version, as its provenance must record it: from its source, as
 * the Go module proxy serves it (the module's zip, read whole: a board's Go may be older than BuildKit's
 * go.mod, and then `go mod download` gives no files).
 */
export async function askedDockerfileVersion(ref: string, version: string): Promise<string> {
  const dir = await sourceDir(ref).catch(() => undefined);
  const source = dir
    ? await readFile(join(dir, VERSION_GO), 'utf8')
    : await fromModuleZip(MODULE, version, VERSION_GO);
  const v = dockerfileFrontendVersion(source, version);
  if (!v) throw new Error(`${MODULE}@${version} ${VERSION_GO} names no Dockerfile frontend version`);
  return v;
}

/** One file of a module at a version, from the module proxy's zip. */
async function fromModuleZip(module: string, version: string, file: string): Promise<string> {
  const proxy =
    (process.env.GOPROXY ?? 'https://proxy.golang.org').split(/[,|]/).find((p) => /^https?:\/\//.test(p)) ??
    'https://proxy.golang.org';
  const url = `${proxy.replace(/\/$/, '')}/${module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}/@v/${version}.zip`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5 * 60_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const data = zipEntry(Buffer.from(await res.arrayBuffer()), `${module}@${version}/${file}`);
  if (!data) throw new Error(`${url} has no ${file}`);
  return data.toString('utf8');
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
