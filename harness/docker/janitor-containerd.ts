/**
 * The janitor's part that needs root on the target: containerd namespaces of the containerd worker
 * (`<prefix>...` and BuildKit's `..._history` beside each) and the root-owned state it leaves in the
 * run's temp dirs, after a run that was killed before its tracker ran. /run/containerd is root's, so
 * it runs `ctr` (the host's, mounted) in a privileged container of the base image; where there is no
 * containerd service or no base image on the target, no containerd worker ever ran there.
 */
import { BASE_IMAGE } from '../../helpers/buildkitd-toml.ts';
import { RUN_LABEL } from '../target/resources.ts';
import type { Target } from '../target/target.ts';
import { REMOVE_NAMESPACE_SH } from './containerd-namespace.ts';

const SWEEP = [
  REMOVE_NAMESPACE_SH,
  'for ns in $(ctr namespaces ls -q | grep "^$1"); do',
  '  rmns "$ns" && echo "removed containerd namespace $ns" || echo "failed containerd namespace $ns"',
  'done',
  'for d in /tmp/"$1"*; do [ -e "$d" ] || continue; rm -rf "$d" && echo "removed temp dir $d (root-owned files)"; done',
].join('\n');

/** Lines `removed <what>` / `failed <what>`; empty when there was nothing (or no way) to sweep. */
export async function sweepContainerd(target: Target, prefix: string): Promise<string[]> {
  const able = await target.exec(
    [
      'sh',
      '-c',
      '[ -d /run/containerd ] && command -v ctr && docker image inspect -f . "$1"',
      'sh',
      BASE_IMAGE,
    ],
    { reject: false, timeoutMs: 30_000 },
  );
  if (able.failed) return [];
  const ctr = able.stdout.split('\n')[0]!.trim();
  const r = await target.exec(
    [
      ...['docker', 'run', '--rm', '--privileged', '--label', `${RUN_LABEL}=janitor`],
      ...['-v', '/run/containerd:/run/containerd', '-v', '/tmp:/tmp', '-v', `${ctr}:/usr/local/bin/ctr:ro`],
      ...['--entrypoint', 'sh', BASE_IMAGE, '-c', SWEEP, 'sh', prefix],
    ],
    { reject: false, timeoutMs: 180_000 },
  );
  if (r.failed) return [`failed containerd sweep: ${r.stderr.trim().split('\n').pop()}`];
  return r.stdout.split('\n').filter((l) => /^(removed|failed) /.test(l));
}
