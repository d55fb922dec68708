/**
 * What makes a daemon rootless, read from the host: the owner of each of its processes and the user
 * namespace it runs in. Parsers and verdicts only; the rootless phase and its broken-setup self test
 * feed them what they read on the target.
 */

export interface ProcessRow {
  uid: number;
  pid: number;
  comm: string;
}

/** Rows of `ps -o uid=,pid=,comm=`. */
export function parsePs(stdout: string): ProcessRow[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((r) => r.length >= 3 && /^\d+$/.test(r[0] ?? ''))
    .map(([uid, pid, ...comm]) => ({ uid: Number(uid), pid: Number(pid), comm: comm.join(' ') }));
}

/** Why these are not the processes of a daemon running as `uid` (empty when they are). */
export function processOwnerProblems(rows: ProcessRow[], uid: number): string[] {
  const problems: string[] = [];
  if (!rows.some((r) => r.comm === 'buildkitd')) problems.push('no buildkitd among the daemon processes');
  for (const r of rows)
    if (r.uid !== uid) problems.push(`${r.comm} (pid ${r.pid}) runs as uid ${r.uid} on the host, not ${uid}`);
  return problems;
}

/**
 * Why `uidMap` (/proc/PID/uid_map) is not root mapped to `uid` plus the user's range from
 * `subuidLine` (its /etc/subuid line, `name:start:count`, or '' when it has none).
 */
export function uidMapProblems(uidMap: string, subuidLine: string, uid: number): string[] {
  const rows = uidMap
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).map(Number));
  const has = (inside: number, outside: number, count: number) =>
    rows.some((r) => r[0] === inside && r[1] === outside && r[2] === count);
  const problems: string[] = [];
  for (const r of rows)
    if (r[1] === 0) problems.push(`uid ${r[0]} inside is uid 0 (root) on the host: ${r.join(' ')}`);
  if (!has(0, uid, 1)) problems.push(`root inside is not mapped to uid ${uid} alone`);
  const [, start, count] = subuidLine.trim().split(':');
  if (!subuidLine.trim() || start === undefined || count === undefined)
    problems.push('the user has no subordinate uid range in /etc/subuid');
  else if (!has(1, Number(start), Number(count)))
    problems.push(`uids from 1 are not mapped to the subuid range ${start}:${count}`);
  return problems;
}
