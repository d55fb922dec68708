/**
 * The run history: one JSON line per run (verdict, per-phase counts and durations, the benchmarks its
 * checks measured, the target), appended by the reporter and read by the HTML report. Where it lives:
 * `BKA_HISTORY_FILE`, else `history.jsonl` beside the report dir (the nightly workflow keeps it).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { counts, phaseVerdict, type RunResults, type Verdict, verdict } from './model.ts';

export interface HistoryEntry {
  runId: string;
  startedAt: string;
  durationMs: number;
  verdict: Verdict;
  target: string;
  phases: Array<{
    name: string;
    verdict: Verdict;
    durationMs: number;
    passed: number;
    failed: number;
    skipped: number;
  }>;
  /** Benchmark name -> milliseconds, from the checks' `bench` notes. */
  benchmarks: Record<string, number>;
}

const BENCH = /^bench: ([^=]+)=(\d+)$/;

export function benchmarksOf(results: RunResults): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of results.phases.flatMap((p) => p.tests))
    for (const n of t.notes) {
      const m = BENCH.exec(n);
      if (m) out[m[1]!] = Number(m[2]);
    }
  return out;
}

export function historyEntry(results: RunResults): HistoryEntry {
  const p = results.properties;
  return {
    runId: results.runId,
    startedAt: results.startedAt,
    durationMs: results.durationMs,
    verdict: verdict(results),
    target: [p['target.host'], p['target.arch'], p['target.cpu']].filter(Boolean).join(', ') || 'unknown',
    phases: results.phases.map((ph) => ({
      name: ph.name,
      verdict: phaseVerdict(ph),
      durationMs: ph.durationMs,
      ...counts(ph.tests),
    })),
    benchmarks: benchmarksOf(results),
  };
}

export function appendHistory(file: string, entry: HistoryEntry): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** The entries of `file`, oldest first; a line that does not parse is skipped (a torn write). */
export function readHistory(file: string): HistoryEntry[] {
  if (!existsSync(file)) return [];
  const entries: HistoryEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as HistoryEntry);
    } catch {
      // a torn last line: the next append starts a new one
    }
  }
  return entries;
}
