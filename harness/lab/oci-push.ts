import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

export interface PlatformRootfs {
  os: 'linux';
  architecture: string;
  variant?: string;
  /** An uncompressed tar of the root filesystem. */
  tarPath: string;
  /** What the index says this entry is, when it must differ from its config (broken indexes, in tests). */
  claimed?: { architecture: string; variant?: string };
  /** The image's default command (`bash` for the debian stand-ins). */
  cmd?: string[];
  /** What the history says made the layer. */
  createdBy?: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Pushes a multi-platform OCI image (one layer per platform, from rootfs tarballs) to a registry over
 * the distribution HTTP API: blobs by monolithic upload, one manifest per platform, then the index.
 */
export async function pushMultiPlatformImage(
  registry: string,
  repository: string,
  tag: string,
  platforms: PlatformRootfs[],
): Promise<string> {
  const base = `http://${registry}/v2/${repository}`;
  const manifests: Descriptor[] = [];
  for (const p of platforms) {
    const tar = await readFile(p.tarPath);
    const layer = await gzipAsync(tar, { level: 6 });
    const layerDesc = await pushBlob(base, layer, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const created = new Date((await stat(p.tarPath)).mtime).toISOString();
    const config = Buffer.from(
      JSON.stringify({
        created,
        architecture: p.architecture,
        ...(p.variant ? { variant: p.variant } : {}),
        os: p.os,
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: p.cmd ?? ['bash'],
        },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [
          { created, created_by: p.createdBy ?? 'debootstrap --variant=minbase (buildkit-acceptance lab)' },
        ],
      }),
    );
    const configDesc = await pushBlob(base, config, 'application/vnd.oci.image.config.v1+json');
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: configDesc,
        layers: [layerDesc],
      }),
    );
    const digest = sha256(manifest);
    await putManifest(base, digest, manifest, 'application/vnd.oci.image.manifest.v1+json');
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
      size: manifest.length,
      platform: {
        os: p.os,
        ...(p.claimed ?? { architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }),
      },
    });
  }
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
  await putManifest(base, tag, index, 'application/vnd.oci.image.index.v1+json');
  return sha256(index);
}

async function pushBlob(base: string, data: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = sha256(data);
  const head = await fetch(`${base}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return { mediaType, digest, size: data.length };
  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202)
    throw new Error(`registry: starting a blob upload gave HTTP ${start.status}: ${await start.text()}`);
  const location = start.headers.get('location');
  if (!location) throw new Error('registry: the blob upload has no Location header');
  const url = new URL(location, base);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
  });
  if (put.status !== 201)
    throw new Error(`registry: uploading ${digest} gave HTTP ${put.status}: ${await put.text()}`);
  return { mediaType, digest, size: data.length };
}

async function putManifest(base: string, ref: string, body: Buffer, mediaType: string): Promise<void> {
  const res = await fetch(`${base}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body,
  });
  if (res.status !== 201)
    throw new Error(`registry: putting manifest ${ref} gave HTTP ${res.status}: ${await res.text()}`);
}

/** The platforms an image index in the registry lists, as `os/arch[/variant]`. */
export async function registryPlatforms(
  registry: string,
  repository: string,
  tag: string,
): Promise<string[]> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    headers: {
      accept:
        'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json',
    },
  });
  if (!res.ok) throw new Error(`registry: ${repository}:${tag} gave HTTP ${res.status}`);
  const index = (await res.json()) as { manifests?: Descriptor[] };
  return (index.manifests ?? []).map((m) =>
    [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/'),
  );
}
