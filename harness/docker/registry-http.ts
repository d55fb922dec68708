/**
 * Reading what a registry holds, from the target (curl there reaches the registry as the builds did):
 * a tag's manifest, index or config, by the registry's v2 HTTP API. The registries the suite pushes to
 * in the lab speak plain HTTP; `https://` is used for any other.
 */
import type { AttachedImage } from '../../helpers/attestations.ts';
import type { PushedImage } from '../../helpers/platform-index.ts';
import type { Target } from '../target/target.ts';

export type { PushedImage };

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryRef {
  base: string;
  repo: string;
  tag: string;
}

export function parseRef(ref: string, insecure: boolean): RegistryRef {
  const slash = ref.indexOf('/');
  const host = ref.slice(0, slash);
  const [repo = '', tag = 'latest'] = ref.slice(slash + 1).split(':');
  return { base: `${insecure ? 'http' : 'https'}://${host}/v2/${repo}`, repo, tag };
}

/**
 * GET as an anonymous client: a registry that answers 401 with a Bearer challenge (Docker Hub, ghcr.io)
 * is asked for an anonymous token at its realm, once per scope, and the request is made again with it.
 */
async function getJson(
  target: Target,
  url: string,
  accept?: string,
): Promise<{ body: Record<string, unknown>; digest?: string }> {
  const get = (token?: string) =>
    // Headers and body both on stdout (`-D -`): curl 7.88 can crash writing headers to /dev/stderr on a pipe.
    target.exec(
      [
        ...['curl', '-sSL', '-D', '-', ...(accept ? ['-H', `Accept: ${accept}`] : [])],
        ...(token ? ['-H', `Authorization: Bearer ${token}`] : []),
        ...['-w', '\n%{http_code}', url],
      ],
      // Whole: an SBOM statement is megabytes (4 MB for the buildkit-riscv64 image).
      { context: `GET ${url}`, timeoutMs: 120_000, maxOutputBytes: 256 * 1024 * 1024 },
    );
  const parse = (out: string) => {
    const code = Number(out.slice(out.lastIndexOf('\n') + 1));
    const rest = out.slice(0, out.lastIndexOf('\n'));
    // Redirects (blobs) repeat the headers: the last header block is the answer's.
    const blocks = rest.split(/\r?\n\r?\n/);
    let i = 0;
    while (i < blocks.length - 1 && /^HTTP\/\S+ 3\d\d/.test(blocks[i]!)) i++;
    const headers = blocks[i] ?? '';
    return { code, headers, body: blocks.slice(i + 1).join('\n\n') };
  };
  let r = parse((await get()).stdout);
  const challenge = /^www-authenticate:\s*Bearer\s+(.+)$/im.exec(r.headers)?.[1];
  if (r.code === 401 && challenge) {
    const param = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(challenge)?.[1];
    const realm = param('realm');
    if (realm) {
      const q = new URLSearchParams();
      for (const k of ['service', 'scope']) if (param(k)) q.set(k, param(k)!);
      const t = await target.exec(['curl', '-fsS', `${realm}?${q}`], {
        context: `an anonymous token from ${realm}`,
        timeoutMs: 60_000,
      });
      const token = (JSON.parse(t.stdout) as { token?: string; access_token?: string }) ?? {};
      r = parse((await get(token.token ?? token.access_token)).stdout);
    }
  }
  if (r.code < 200 || r.code >= 300)
    throw new Error(`GET ${url}: HTTP ${r.code}: ${r.body.trim().slice(0, 300)}`);
  const digest = /^docker-content-digest:\s*(\S+)/im.exec(r.headers)?.[1];
  return { body: JSON.parse(r.body) as Record<string, unknown>, digest };
}

/** An entry of an index: an image manifest by platform, or an attestation manifest for one. */
interface IndexEntry {
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** An index entry that is BuildKit's attestation manifest for an image of the index. */
const isAttestation = (m: IndexEntry) =>
  m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';

const platformOf = (p: { os: string; architecture: string; variant?: string }) =>
  [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** What the registry serves for a ref (`host/repo:tag` or `host/repo@sha256:...`): a manifest or an index. */
interface ServedManifest {
  ref: RegistryRef;
  /** The digest the registry answered with (Docker-Content-Digest). */
  digest: string | undefined;
  body: Record<string, unknown>;
  /** The index's entries; none for a single manifest. */
  entries: IndexEntry[];
  /** The entries that are images (not attestations, nor BuildKit's `unknown/unknown` placeholders). */
  images: IndexEntry[];
}

async function servedManifest(target: Target, ref: string, insecure: boolean): Promise<ServedManifest> {
  const at = /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1];
  const r = parseRef(at ? ref.slice(0, -at.length - 1) : ref, insecure);
  const top = await getJson(target, `${r.base}/manifests/${at ?? r.tag}`, ACCEPT);
  const entries = (top.body.manifests as IndexEntry[] | undefined) ?? [];
  const images = entries.filter((m) => !isAttestation(m) && m.platform?.architecture !== 'unknown');
  return { ref: { ...r, tag: at ?? r.tag }, digest: top.digest, body: top.body, entries, images };
}

/** The tag's manifest (or index, and each of its platforms' configs). */
export async function pushedImage(target: Target, ref: string, insecure: boolean): Promise<PushedImage> {
  const served = await servedManifest(target, ref, insecure);
  const r = served.ref;
  const index = served.entries.length > 0;
  const images = index ? served.images.filter((m) => m.platform) : [{ digest: r.tag, platform: undefined }];
  const configs = [];
  for (const m of images) {
    const manifest = index
      ? (await getJson(target, `${r.base}/manifests/${m.digest}`, ACCEPT)).body
      : served.body;
    const configDigest = (manifest.config as { digest: string }).digest;
    configs.push(
      (await getJson(target, `${r.base}/blobs/${configDigest}`)).body as PushedImage['configs'][number],
    );
  }
  return {
    digest: served.digest,
    mediaType: String(served.body.mediaType ?? ''),
    platforms: configs.map(platformOf),
    configs,
    indexPlatforms: index ? images.map((m) => (m.platform ? platformOf(m.platform) : '?')) : [],
    attestations: served.entries.filter(isAttestation).length,
  };
}

/** What a pushed index holds: its image manifests by platform, and each one's attached statements. */
export interface PushedAttestations {
  /** The index's digest, as the registry serves the ref. */
  digest: string | undefined;
  images: AttachedImage[];
}

/**
 * The attestation manifests of a pushed image (BuildKit's attestation storage: index entries annotated
 * `vnd.docker.reference.type: attestation-manifest`, pointing at their image by
 * `vnd.docker.reference.digest`, each layer an in-toto statement), read back through the registry API.
 */
export async function pushedAttestations(
  target: Target,
  ref: string,
  insecure: boolean,
): Promise<PushedAttestations> {
  const served = await servedManifest(target, ref, insecure);
  const r = served.ref;
  const out: PushedAttestations = { digest: served.digest, images: [] };
  // A single manifest, not an index: an image with nothing attached.
  if (served.entries.length === 0)
    out.images.push({ platform: 'single manifest', digest: served.digest ?? r.tag, statements: [] });
  for (const image of served.images) {
    const statements: AttachedImage['statements'] = [];
    for (const a of served.entries.filter(
      (m) => isAttestation(m) && m.annotations?.['vnd.docker.reference.digest'] === image.digest,
    )) {
      const manifest = (await getJson(target, `${r.base}/manifests/${a.digest}`, ACCEPT)).body;
      const layers =
        (manifest.layers as Array<{ digest: string; annotations?: Record<string, string> }>) ?? [];
      for (const layer of layers) {
        const predicateType = layer.annotations?.['in-toto.io/predicate-type'];
        if (!predicateType) continue;
        statements.push({
          predicateType,
          statement: (await getJson(target, `${r.base}/blobs/${layer.digest}`)).body,
        });
      }
    }
    out.images.push({
      platform: image.platform ? platformOf(image.platform) : '?',
      digest: image.digest,
      statements,
    });
  }
  return out;
}

/**
 * A tag's digest as the registry serves it and, when it is an index, the digest of its `platform`
 * manifest (os/arch): what a build that pulled it may record.
 */
export async function servedDigests(
  target: Target,
  ref: string,
  insecure: boolean,
  platform: string,
): Promise<string[]> {
  const served = await servedManifest(target, ref, insecure);
  const [os, arch] = platform.split('/');
  const entry = served.entries.find((m) => m.platform?.os === os && m.platform?.architecture === arch);
  return [served.digest, entry?.digest].filter((d): d is string => Boolean(d));
}
