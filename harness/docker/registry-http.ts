/**
 * Reading what a registry holds, from the target (curl there reaches the registry as the builds did):
 * a tag's manifest, index or config, by the registry's v2 HTTP API. The registries the suite pushes to
 * in the lab speak plain HTTP; `https://` is used for any other.
 */
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

async function getJson(
  target: Target,
  url: string,
  accept?: string,
): Promise<{ body: Record<string, unknown>; digest?: string }> {
  // Headers and body both on stdout (`-D -`): curl 7.88 can crash writing headers to /dev/stderr on a pipe.
  const r = await target.exec(
    ['curl', '-fsS', '-D', '-', ...(accept ? ['-H', `Accept: ${accept}`] : []), url],
    {
      context: `GET ${url}`,
      timeoutMs: 60_000,
    },
  );
  const split = /\r?\n\r?\n/.exec(r.stdout);
  const headers = split ? r.stdout.slice(0, split.index) : '';
  const body = split ? r.stdout.slice(split.index + split[0].length) : r.stdout;
  const digest = /^docker-content-digest:\s*(\S+)/im.exec(headers)?.[1];
  return { body: JSON.parse(body) as Record<string, unknown>, digest };
}

/** The tag's manifest (or index, and each of its platforms' configs). */
const platformOf = (p: { os: string; architecture: string; variant?: string }) =>
  [p.os, p.architecture, p.variant].filter(Boolean).join('/');

export async function pushedImage(target: Target, ref: string, insecure: boolean): Promise<PushedImage> {
  const r = parseRef(ref, insecure);
  const top = await getJson(target, `${r.base}/manifests/${r.tag}`, ACCEPT);
  const mediaType = String(top.body.mediaType ?? '');
  const manifests =
    (top.body.manifests as
      | Array<{
          digest: string;
          platform?: { os: string; architecture: string; variant?: string };
          annotations?: Record<string, string>;
        }>
      | undefined) ?? [];
  const isAttestation = (m: (typeof manifests)[number]) =>
    m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
  const images = manifests.length
    ? manifests.filter((m) => m.platform && !isAttestation(m) && m.platform.architecture !== 'unknown')
    : [{ digest: r.tag, platform: undefined }];
  const configs = [];
  for (const m of images) {
    const manifest = manifests.length
      ? (await getJson(target, `${r.base}/manifests/${m.digest}`, ACCEPT)).body
      : top.body;
    const configDigest = (manifest.config as { digest: string }).digest;
    configs.push(
      (await getJson(target, `${r.base}/blobs/${configDigest}`)).body as PushedImage['configs'][number],
    );
  }
  return {
    digest: top.digest,
    mediaType,
    platforms: configs.map(platformOf),
    configs,
    indexPlatforms: manifests.length ? images.map((m) => (m.platform ? platformOf(m.platform) : '?')) : [],
    attestations: manifests.filter(isAttestation).length,
  };
}
