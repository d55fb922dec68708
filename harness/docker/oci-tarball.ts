/** Reading an OCI image tarball (BuildKit's `type=oci` export) on the target, through `tar`. */
import type { Target } from '../target/target.ts';

export interface OciImage {
  manifest: { config: { digest: string }; layers: Array<{ digest: string }> };
  config: {
    architecture: string;
    os: string;
    variant?: string;
    config?: { Env?: string[] };
    history?: Array<{ created_by?: string }>;
  };
}

const blob = (digest: string) => `blobs/sha256/${digest.replace('sha256:', '')}`;

async function member(target: Target, tar: string, name: string): Promise<Record<string, unknown>> {
  const r = await target.exec(['tar', '-xOf', tar, name], { context: `reading ${name} from ${tar}` });
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The first image of the tarball: its manifest and config. */
export async function ociImage(target: Target, tar: string): Promise<OciImage> {
  const index = (await member(target, tar, 'index.json')) as { manifests: Array<{ digest: string }> };
  const manifest = (await member(target, tar, blob(index.manifests[0]!.digest))) as OciImage['manifest'];
  const config = (await member(target, tar, blob(manifest.config.digest))) as OciImage['config'];
  return { manifest, config };
}

/** A file from the image's top layer. */
export async function topLayerFile(
  target: Target,
  tar: string,
  image: OciImage,
  file: string,
): Promise<string> {
  const layer = blob(image.manifest.layers.at(-1)!.digest);
  const r = await target.exec(['sh', '-c', 'tar -xOf "$1" "$2" | tar -xzOf - "$3"', 'sh', tar, layer, file], {
    context: `reading ${file} from the top layer of ${tar}`,
  });
  return r.stdout;
}

/**
 * Where `needle` occurs in the tarball: `the tarball's files` (index, manifests, configs and their
 * history, uncompressed blobs) or `layer <digest>` (a layer unpacked: gzip, zstd or plain). Empty when
 * nowhere. A layer it cannot unpack (zstd without the zstd tool on the target) fails loudly: an
 * unread layer is no evidence of absence.
 */
export async function tarballOccurrences(target: Target, tar: string, needle: string): Promise<string[]> {
  const script = [
    'd=$(mktemp -d); trap \'rm -rf "$d"\' EXIT',
    'tar -xf "$1" -C "$d"',
    'grep -rqF -- "$2" "$d" && echo "the tarball\'s files"',
    'for b in "$d"/blobs/sha256/*; do',
    '  magic=$(head -c4 "$b" | od -An -tx1 | tr -d " \n")',
    '  case "$magic" in',
    '    1f8b*) un="gzip -dc" ;;',
    '    28b52ffd) command -v zstd >/dev/null || { echo "cannot unpack zstd layer $(basename "$b"): no zstd on $(hostname)" >&2; exit 3; }; un="zstd -dc" ;;',
    '    *) continue ;;',
    '  esac',
    '  $un "$b" | grep -aqF -- "$2" && echo "layer sha256:$(basename "$b")"',
    'done',
    'exit 0',
  ].join('\n');
  const r = await target.exec(['sh', '-c', script, 'sh', tar, needle], {
    timeoutMs: 120_000,
    context: `searching ${tar} for a value`,
  });
  return r.stdout.split('\n').filter(Boolean);
}
