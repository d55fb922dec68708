/**
 * Whether the target's Docker engine answers its user, told apart: answered, slow (the probe's time
 * limit ran out: a busy guest, a daemon still starting) or refused (permission denied, nothing listening:
 * waiting will not help). A slow engine is asked again within one overall deadline; a refused one fails
 * at once, with the sentence that says which.
 */

import { formatDuration } from '../../helpers/command-result.ts';
import { pollAnswers } from '../../helpers/poll.ts';
import type { Target } from '../target/target.ts';

/** One probe's own time limit, in seconds (`timeout` on the target kills the CLI after it). */
export const ENGINE_PROBE_SECONDS = 20;

/** `docker version` under `timeout`, printing `<exit code>|<load average>|<output tail>` on one line each. */
export const ENGINE_PROBE = `out=$(timeout ${ENGINE_PROBE_SECONDS} docker version --format '{{.Server.Version}}' 2>&1); rc=$?
printf '%s|%s|%s' "$rc" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" "$(printf '%s' "$out" | tail -c 600 | tr '\\n' ' ')"`;

export type EngineAnswer =
  | { state: 'answered'; version: string }
  | { state: 'slow'; loadAverage: string }
  | { state: 'refused'; why: string };

/** Reads one ENGINE_PROBE line (as printed on the target). */
export function parseEngineProbe(line: string): EngineAnswer {
  const [rc = '', loadAverage = '', ...rest] = line.trim().split('|');
  const output = rest.join('|').trim();
  if (rc === '0' && /^\d+\.\d+/.test(output)) return { state: 'answered', version: output };
  // 124: timeout's own exit code; 137/143: killed while hanging.
  if (rc === '124' || rc === '137' || rc === '143')
    return { state: 'slow', loadAverage: loadAverage || 'unknown' };
  return { state: 'refused', why: refusal(output, rc) };
}

/** The one sentence for an engine that refused, from the CLI's own words. */
function refusal(output: string, rc: string): string {
  const socket = /unix:\/\/(\/[^\s:";]+)/.exec(output)?.[1] ?? /(\/[\w./-]*docker\.sock)/.exec(output)?.[1];
  const on = socket?.replace(/\.+$/, '') ?? '/var/run/docker.sock';
  if (/permission denied/i.test(output)) return `refused: permission denied on ${on}`;
  if (/daemon (is )?running|no such file or directory|connection refused/i.test(output))
    return `refused: nothing answers on ${on} (dockerd is not running)`;
  return `refused (exit ${rc || 'unknown'}): ${output || 'no output'}`;
}

/** The sentence a preflight fails with, for an engine that did not answer. */
export function engineProblem(answer: EngineAnswer, host: string, user: string, waitedMs?: number): string {
  if (answer.state === 'slow') {
    const waited = waitedMs === undefined ? `${ENGINE_PROBE_SECONDS} s` : formatDuration(waitedMs);
    return `the Docker engine on ${host} did not answer ${user} within ${waited} (load average ${answer.loadAverage}): it is busy or hung, not refused`;
  }
  if (answer.state === 'refused') {
    const fix = /permission denied/.test(answer.why)
      ? ` (is ${user} in the docker group? sudo usermod -aG docker ${user}, then a new login)`
      : /not running/.test(answer.why)
        ? ' (sudo systemctl start docker)'
        : '';
    return `the Docker engine on ${host} ${answer.why}${fix}`;
  }
  return '';
}

/** Probes the engine once. */
export async function probeEngine(target: Target): Promise<EngineAnswer> {
  const r = await target.exec(['sh', '-c', ENGINE_PROBE], {
    reject: false,
    timeoutMs: (ENGINE_PROBE_SECONDS + 30) * 1000,
    context: 'asking the Docker engine for its version',
  });
  // The SSH command itself ran out of time: as slow as the probe's own limit.
  if (r.timedOut) return { state: 'slow', loadAverage: 'unknown' };
  return parseEngineProbe(r.stdout);
}

/**
 * Asks a slow engine again until it answers, refuses, or `deadlineMs` has passed since the first probe
 * (given as `first`). Returns the last answer and how long it waited.
 */
export async function awaitEngine(
  target: Target,
  first: EngineAnswer,
  deadlineMs: number,
  onWait?: (line: string) => void,
): Promise<{ answer: EngineAnswer; waitedMs: number }> {
  if (first.state !== 'slow') return { answer: first, waitedMs: 0 };
  onWait?.(
    `the Docker engine on ${target.host} did not answer within ${ENGINE_PROBE_SECONDS} s (load average ${first.loadAverage}); asking again for up to ${formatDuration(deadlineMs)}`,
  );
  const o = await pollAnswers(
    () => probeEngine(target),
    (a) => a.state !== 'slow',
    { timeoutMs: deadlineMs, intervalMs: 2000 },
  );
  // A probe that threw (the connection, not the engine) is no answer: the last one stands.
  if (o.last === undefined && o.lastError) throw o.lastError;
  return { answer: o.last ?? first, waitedMs: o.waitedMs + ENGINE_PROBE_SECONDS * 1000 };
}
