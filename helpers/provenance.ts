/**
 * SLSA v1 provenance as BuildKit writes it (its default since v0.2x; `mode=max`): the facts a check
 * compares with what was asked for, and the verdict. Pure; tested on captured statements.
 *
 * BuildKit leaves `runDetails.builder.version` unset (a TODO upstream), so the builder is named by what
 * BuildKit itself records: its built-in Dockerfile frontend's version (`dockerfileVersion`, a release
 * version only when BuildKit's own version is one, else `-dev`) and the platform it ran on.
 */
import { createHash } from 'node:crypto';

export const SLSA_V1 = 'https://slsa.dev/provenance/v1';

export interface ProvenanceFacts {
  predicateType: string;
  frontend: string | undefined;
  /** The platform of the image it describes (its subject's package URL). */
  requestedPlatform: string | undefined;
  /** The platform BuildKit ran on. */
  builderPlatform: string | undefined;
  dockerfileVersion: string | undefined;
  /** Each source file BuildKit recorded (mode=max), by name and SHA256 of its content. */
  sources: Array<{ filename: string; sha256: string }>;
  materials: Array<{ uri: string; sha256: string | undefined }>;
  mode: string | undefined;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function provenanceFacts(statement: Json): ProvenanceFacts {
  const predicate = obj(statement.predicate);
  const def = obj(predicate.buildDefinition);
  const request = obj(obj(def.externalParameters).request);
  const internal = obj(def.internalParameters);
  const meta = obj(obj(obj(predicate.runDetails).metadata).buildkit_metadata);
  const completeness = obj(obj(obj(predicate.runDetails).metadata).buildkit_completeness);
  return {
    predicateType: str(statement.predicateType) ?? '',
    frontend: str(request.frontend),
    requestedPlatform: arr(statement.subject)
      .map((x) => str(obj(x).name) ?? '')
      .map((name) => new URLSearchParams(name.split('?')[1] ?? '').get('platform') ?? undefined)
      .find(Boolean),
    builderPlatform: str(internal.builderPlatform),
    dockerfileVersion: str(internal.dockerfileVersion),
    sources: arr(obj(meta.source).infos).map((i) => {
      const info = obj(i);
      const data = Buffer.from(str(info.data) ?? '', 'base64');
      return {
        filename: str(info.filename) ?? '',
        sha256: createHash('sha256').update(data).digest('hex'),
      };
    }),
    materials: arr(def.resolvedDependencies).map((m) => ({
      uri: str(obj(m).uri) ?? '',
      sha256: str(obj(obj(m).digest).sha256),
    })),
    // mode=max records the build's sources and layers; min leaves both out.
    mode: Object.keys(completeness).length > 0 || arr(obj(meta.source).infos).length > 0 ? 'max' : 'min',
  };
}

/** `pkg:docker/<name>@<tag>?platform=<os>%2F<arch>` -> its parts. */
export function dockerPurl(
  uri: string,
): { name: string; tag: string; platform: string | undefined } | undefined {
  const m = /^pkg:docker\/([^@?]+)@([^?]+)(?:\?(.*))?$/.exec(uri);
  if (!m) return undefined;
  const platform = new URLSearchParams(m[3] ?? '').get('platform') ?? undefined;
  return { name: m[1]!.replace(/^library\//, ''), tag: decodeURIComponent(m[2]!), platform };
}

export interface ProvenanceExpectation {
  frontend: string;
  platform: string;
  /** The Dockerfile as sent: its file name in the context and the SHA256 of its content. */
  dockerfileSha256: string;
  /** The Dockerfile frontend version the asked BuildKit release carries (from its source). */
  dockerfileVersion: string;
  /** The base image as asked (`debian:trixie-slim`) and its digests as the registry serves it. */
  base: { name: string; tag: string; digests: string[] };
  /** The SBOM generator asked for (`docker/buildkit-syft-scanner:stable-1`): the other image it may record. */
  generator?: { name: string; tag: string };
  /** Phase 1's tarball: its file name and its SHA256 as SHA256SUMS lists it. */
  binaries?: { tarball: string; sha256: string };
}

/** What the provenance says that differs from what was asked for; empty when it all agrees. */
export function provenanceProblems(f: ProvenanceFacts, want: ProvenanceExpectation): string[] {
  const problems: string[] = [];
  if (f.predicateType !== SLSA_V1)
    problems.push(`predicate type is ${f.predicateType || 'missing'}, not ${SLSA_V1}`);
  if (f.mode !== 'max') problems.push('it is not mode=max (no sources or completeness recorded)');
  if (f.frontend !== want.frontend)
    problems.push(`frontend is ${f.frontend ?? 'missing'}, not ${want.frontend}`);
  if (f.requestedPlatform !== want.platform)
    problems.push(`it describes an image for ${f.requestedPlatform ?? 'no platform'}, not ${want.platform}`);
  if (f.builderPlatform !== want.platform)
    problems.push(
      `the builder ran on ${f.builderPlatform ?? 'an unrecorded platform'}, not ${want.platform}`,
    );
  if (f.dockerfileVersion !== want.dockerfileVersion)
    problems.push(
      `the builder's Dockerfile frontend is ${f.dockerfileVersion ?? 'unrecorded'}, not ${want.dockerfileVersion} (the BuildKit asked for); another BuildKit built it`,
    );
  const dockerfile = f.sources.find((s) => s.filename === 'Dockerfile');
  if (!dockerfile) problems.push('no Dockerfile among the recorded sources');
  else if (dockerfile.sha256 !== want.dockerfileSha256)
    problems.push(
      `the recorded Dockerfile is sha256:${dockerfile.sha256}, not the one sent (sha256:${want.dockerfileSha256})`,
    );
  const images = f.materials.map((m) => ({ m, p: dockerPurl(m.uri) })).filter((x) => x.p);
  const base = images.find((x) => x.p!.name === want.base.name && x.p!.tag === want.base.tag);
  if (!base)
    problems.push(
      `no material is ${want.base.name}:${want.base.tag} (materials: ${f.materials.map((m) => m.uri).join(', ') || 'none'})`,
    );
  else {
    if (!base.m.sha256 || !want.base.digests.includes(`sha256:${base.m.sha256}`))
      problems.push(
        `${base.m.uri} is recorded as sha256:${base.m.sha256 ?? 'none'}, the registry serves ${want.base.name}:${want.base.tag} as ${want.base.digests.join(' or ')}`,
      );
    if (base.p!.platform !== want.platform)
      problems.push(
        `the base image material is for ${base.p!.platform ?? 'no platform'}, not ${want.platform}`,
      );
  }
  const asked = (x: (typeof images)[number]) =>
    x === base || (want.generator && x.p!.name === want.generator.name && x.p!.tag === want.generator.tag);
  for (const x of images.filter((x) => !asked(x)))
    problems.push(`an image material nobody asked for: ${x.m.uri}`);
  // Materials that are no image: phase 1's tarball, fetched over HTTP by its SHA256, and nothing else.
  if (want.binaries) {
    const others = f.materials.filter((m) => !dockerPurl(m.uri));
    const tarball = others.find((m) => m.sha256 === want.binaries!.sha256);
    if (!tarball)
      problems.push(
        `no material is phase 1's ${want.binaries.tarball} by its SHA256SUMS entry (sha256:${want.binaries.sha256}); the other materials: ${others.map((m) => `${m.uri} (sha256:${m.sha256 ?? 'none'})`).join(', ') || 'none'}`,
      );
    for (const m of others.filter((m) => m !== tarball))
      problems.push(`a material nobody asked for: ${m.uri} (sha256:${m.sha256 ?? 'none'})`);
  }
  return problems;
}

/**
 * The Dockerfile frontend version a BuildKit release records, from its source
 * (`frontend/dockerfile/version/version.go`: `const version = "X.Y"`), as BuildKit normalizes it: X.Y.0,
 * with BuildKit's prerelease appended, or `-dev` when BuildKit's own version is not a release.
 */
export function dockerfileFrontendVersion(versionGo: string, buildkitVersion: string): string | undefined {
  const m = /const version = "(\d+)\.(\d+)(?:\.(\d+))?"/.exec(versionGo);
  if (!m) return undefined;
  const v = `${m[1]}.${m[2]}.${m[3] ?? 0}`;
  const semver = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(buildkitVersion);
  if (!semver || semver[2]) return `${v}-dev`;
  return `${v}${semver[1] ?? ''}`;
}
