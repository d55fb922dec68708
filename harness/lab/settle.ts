/**
 * A booted guest has settled when systemd has no job left (boot finished: `is-system-running` is no
 * longer `starting`) and its CPUs are mostly idle over a few seconds. Right after a first boot a guest
 * under TCG stays busy for minutes; a run started then sees a Docker that answers in 30 s, and a
 * hibernation made then would save that work half done. The wait has a deadline and says what it saw.
 */

import { errorMessage } from '../../helpers/errors.ts';
import { pollAnswers } from '../../helpers/poll.ts';
import type { Target } from '../target/target.ts';

/** Busy below this share of all CPUs, on two samples in a row, counts as idle. */
export const IDLE_BUSY_SHARE = 0.5;

/** One sample: systemd's state, its queued jobs, the CPU share busy over 3 s, the load average, what runs (R/D) now. */
export const SETTLE_PROBE = String.raw`state=$(systemctl is-system-running 2>/dev/null)
jobs=$(systemctl list-jobs --no-legend 2>/dev/null | wc -l)
a=$(head -n1 /proc/stat); sleep 3; b=$(head -n1 /proc/stat)
busy=$(printf '%s\n%s\n' "$a" "$b" | awk '{idle=$5+$6; total=0; for(i=2;i<=NF;i++) total+=$i; if (NR==1) {i0=idle; t0=total} else printf "%.3f", 1-(idle-i0)/(total-t0)}')
echo "state=$state"
echo "jobs=$jobs"
echo "busy=$busy"
echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "top=$(ps -eo stat=,comm= | awk '$1 ~ /^[RD]/ && $2 != "ps" && $2 != "awk" {n[$2]++} END {for (c in n) printf "%s x%d; ", c, n[c]}')"`;

export interface SettleSample {
  state: string;
  jobs: number;
  busy: number;
  load: string;
  top: string;
}

export function parseSettleSample(stdout: string): SettleSample {
  const kv = new Map(
    stdout
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const)
      .filter(([k]) => k),
  );
  return {
    state: kv.get('state') ?? 'unknown',
    jobs: Number(kv.get('jobs') ?? 0),
    busy: Number(kv.get('busy') ?? 1),
    load: kv.get('load') ?? 'unknown',
    top: (kv.get('top') ?? '').trim().replace(/;$/, ''),
  };
}

/** Whether a sample shows a guest done booting (systemd idle) with its CPUs below IDLE_BUSY_SHARE. */
export function settled(s: SettleSample): boolean {
  return s.state !== 'starting' && s.state !== 'initializing' && s.jobs === 0 && s.busy < IDLE_BUSY_SHARE;
}

export function describeSample(s: SettleSample): string {
  return `systemd ${s.state}, ${s.jobs} job(s) queued, CPU ${(s.busy * 100).toFixed(0)} % busy, load average ${s.load}; running now: ${s.top || 'nothing'}`;
}

/**
 * Waits until two samples in a row are settled, or `timeoutMs` has passed. Returns whether it settled
 * and the last sample (never throws for a guest that stays busy: the caller says what it saw).
 */
export async function waitSettled(
  target: Target,
  timeoutMs: number,
): Promise<{ settled: boolean; last: string; samples: number }> {
  let quiet = 0;
  let last = 'no sample';
  const o = await pollAnswers(
    async () => {
      try {
        const r = await target.exec(['sh', '-c', SETTLE_PROBE], { reject: false, timeoutMs: 60_000 });
        const s = parseSettleSample(r.stdout);
        last = describeSample(s);
        quiet = settled(s) ? quiet + 1 : 0;
      } catch (err) {
        last = errorMessage(err);
        quiet = 0;
      }
      // Two quiet samples in a row: one alone may fall between two bursts of work.
      return quiet;
    },
    (q) => q >= 2,
    { timeoutMs, intervalMs: 2000 },
  );
  return { settled: o.done, last, samples: o.attempts };
}
