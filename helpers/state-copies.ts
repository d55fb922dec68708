/**
 * What a daemon's state holds of an image it built: the shell scan to run as root (`sh -c SCAN sh
 * TEXT DIR`: paths of files containing TEXT, then `sha256:<hex>` of every file), and the copies it
 * found (a file with the text the build wrote, or a file whose digest is a layer's).
 */
export const STATE_SCAN =
  'grep -rlF -- "$1" "$2" || true; find "$2" -type f -size +0 -exec sha256sum {} + | cut -d" " -f1 | sed "s/^/sha256:/"';

export function copiesInState(scan: string, layers: readonly string[]): string[] {
  return scan
    .split('\n')
    .filter(Boolean)
    .filter((l) => !l.startsWith('sha256:') || layers.includes(l));
}
