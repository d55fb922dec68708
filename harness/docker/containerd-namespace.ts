/**
 * One shell function, `rmns NAMESPACE [SECONDS]`, that empties a containerd namespace and removes it: tasks,
 * containers, images, leases and content, then each snapshotter's snapshots, deepest first. containerd
 * would collect unreferenced snapshots itself, but its collector runs when it chooses (after a slow
 * collection it waits up to fifty times as long), and a snapshot labelled as a root it never takes:
 * waiting for it made the namespace's removal fail at random. Retries for 30 s (or its second argument's
 * seconds); then exit 1, saying on
 * stderr what the namespace still holds and containerd's last refusal. Run as root with `ctr` on PATH
 * (CONTAINERD_ADDRESS picks another containerd): the containerd worker's stop() and the janitor's
 * sweep both use it.
 */
export const REMOVE_NAMESPACE_SH = [
  'rmns() {',
  '  c="ctr -n $1"',
  '  snapshotters=$(ctr plugins ls | awk \'$1 == "io.containerd.snapshotter.v1" && $NF == "ok" { print $2 }\')',
  '  $c tasks ls -q 2>/dev/null | xargs -r -n1 $c tasks rm -f >/dev/null 2>&1',
  '  for kind in containers images leases content; do',
  '    $c $kind ls -q 2>/dev/null | xargs -r $c $kind rm >/dev/null 2>&1',
  '  done',
  '  tries=30; [ -z "$2" ] || tries=$2',
  '  for i in $(seq 1 "$tries"); do',
  '    ctr namespaces ls -q | grep -qx "$1" || return 0',
  '    refused=$(ctr namespaces rm "$1" 2>&1) && return 0',
  '    for s in $snapshotters; do',
  '      # Deepest first (children before their parents), in one ctr: a fork of ctr is slow under TCG.',
  '      $c snapshots --snapshotter "$s" ls 2>/dev/null | awk \'NR > 1 { p[$1] = NF >= 3 ? $2 : "" }',
  '        END { for (k in p) { d = 0; x = k; while (p[x] != "" && (p[x] in p)) { x = p[x]; d++ } print d, k } }\' |',
  '        sort -rn | cut -d" " -f2 | xargs -r $c snapshots --snapshotter "$s" rm >/dev/null 2>&1',
  '    done',
  '    sleep 1',
  '  done',
  '  held=""',
  '  for kind in containers images leases content; do',
  '    n=$($c $kind ls -q 2>/dev/null | wc -l); [ "$n" = 0 ] || held="$held $n $kind,"',
  '  done',
  '  for s in $snapshotters; do',
  '    n=$($c snapshots --snapshotter "$s" ls 2>/dev/null | awk \'NR > 1\' | wc -l)',
  '    [ "$n" = 0 ] || held="$held $n $s snapshots,"',
  '  done',
  '  echo "containerd namespace $1 still holds:$(echo "$held" | sed \'s/,$//\'); containerd said: $refused" >&2',
  '  return 1',
  '}',
].join('\n');
