/**
 * One shell function, `rmns NAMESPACE`, that empties a containerd namespace (images, leases, content;
 * containerd collects snapshots once nothing refers to them) and removes it, retrying while the
 * collection runs. Exit 1 when it is still there. Run as root with `ctr` on PATH: the containerd
 * worker's stop() and the janitor's sweep both use it.
 */
export const REMOVE_NAMESPACE_SH = [
  'rmns() {',
  '  c="ctr -n $1"',
  '  $c images ls -q | xargs -r $c images rm >/dev/null',
  '  $c leases ls -q | xargs -r $c leases rm >/dev/null',
  '  $c content ls -q | xargs -r $c content rm >/dev/null',
  '  for i in $(seq 1 30); do',
  '    ctr namespaces ls -q | grep -qx "$1" || return 0',
  '    ctr namespaces rm "$1" >/dev/null 2>&1 && return 0',
  '    sleep 1',
  '  done',
  '  return 1',
  '}',
].join('\n');
