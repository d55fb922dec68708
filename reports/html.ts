/**
 * The HTML report: this run's verdict per phase, and the history of runs plotted (phase durations and
 * every benchmark the checks measured), one self-contained file with inline SVG (no script, no
 * network), so it opens anywhere, including from a CI artefact.
 */
import type { HistoryEntry } from './history.ts';
import { esc, lineChart } from './html-chart.ts';
import type { RunResults } from './model.ts';

function runLabel(e: HistoryEntry): string {
  return e.startedAt.replace('T', ' ').slice(0, 16);
}

const stateClass = (v: string) => v.replace(' ', '-').toLowerCase();

/** This run's failures first (each with its evidence), then every check by phase, then the target. */
function runDetails(results: RunResults): { failures: string; checks: string } {
  const tests = results.phases.flatMap((p) => p.tests);
  const failed = tests.filter((t) => t.state === 'failed');
  const errors = results.errors.map(
    (e) => `<details open><summary>outside any check</summary><pre>${esc(e)}</pre></details>`,
  );
  const failures = failed.map(
    (t) =>
      `<details open class="failed"><summary>${esc(t.name)}: ${esc(t.message ?? 'failed')}${t.errorType ? ` (${esc(t.errorType)})` : ''}</summary><pre>${esc(t.details ?? '')}</pre></details>`,
  );
  const failuresSection =
    failures.length + errors.length > 0
      ? `<section id="failures"><h2>Failures</h2>${[...errors, ...failures].join('')}</section>`
      : '';
  const checks = results.phases
    .map(
      (p) =>
        `<details><summary>${esc(p.name)}: ${p.tests.length} check(s)</summary><table><tbody>${p.tests
          .map(
            (t) =>
              `<tr class="${t.state}"><td>${esc(t.name)}</td><td>${esc(t.serves ?? '')}</td><td>${t.state}</td><td>${(t.durationMs / 1000).toFixed(1)} s</td><td>${esc(t.skipReason ?? t.notes.join('; '))}</td></tr>`,
          )
          .join('')}</tbody></table></details>`,
    )
    .join('');
  const facts = Object.entries(results.properties)
    .filter(([k]) => k.startsWith('target.') || k.startsWith('run.') || k.startsWith('lab.'))
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`)
    .join('');
  return {
    failures: failuresSection,
    checks: `<section id="checks"><h2>Checks</h2>${checks}</section><section id="facts"><h2>Target</h2><table><tbody>${facts}</tbody></table></section>`,
  };
}

/** The report: `current` (this run's results, when given) then the history's trends. */
export function toHtml(history: HistoryEntry[], results?: RunResults): string {
  const current = history.at(-1);
  const details = results ? runDetails(results) : { failures: '', checks: '' };
  const runs = history.map(runLabel);
  const phaseNames = [...new Set(history.flatMap((e) => e.phases.map((p) => p.name)))];
  const durations = phaseNames.map((name) => ({
    name,
    values: history.map((e) => {
      const p = e.phases.find((q) => q.name === name);
      return p && p.passed + p.failed > 0 ? p.durationMs / 1000 : undefined;
    }),
  }));
  const benchNames = [...new Set(history.flatMap((e) => Object.keys(e.benchmarks)))].sort();
  const benchCharts = benchNames.map((name) =>
    lineChart(name, runs, [
      {
        name,
        values: history.map((e) => {
          const ms = e.benchmarks[name];
          return ms === undefined ? undefined : ms / 1000;
        }),
      },
    ]),
  );
  const table = current
    ? `<table class="phases"><thead><tr><th>phase</th><th>verdict</th><th>passed</th><th>failed</th><th>skipped</th><th>duration</th></tr></thead><tbody>${current.phases
        .map(
          (p) =>
            `<tr class="${stateClass(p.verdict)}"><td>${esc(p.name)}</td><td>${p.verdict}</td><td>${p.passed}</td><td>${p.failed}</td><td>${p.skipped}</td><td>${(p.durationMs / 1000).toFixed(0)} s</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No run yet.</p>';
  const verdicts = history
    .map(
      (e) =>
        `<li class="${stateClass(e.verdict)}">${esc(runLabel(e))} · ${esc(e.runId)} · <b>${e.verdict}</b> · ${esc(e.target)}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BuildKit on riscv64: ${current ? current.verdict : 'no run'}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}pre{background:#fafafa;border:1px solid #eee;padding:8px;white-space:pre-wrap;font-size:12px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.passed{background:#e8f5e9}.failed{background:#ffebee}.incomplete{background:#fff8e1}.not-run{background:#eceff1}
.chart{display:inline-block;margin:8px 16px 8px 0}.chart text{font-size:10px;fill:#555}.grid{stroke:#eee}
.legend .key{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
</style></head><body>
<h1>BuildKit on riscv64: ${current ? `${current.verdict} (run ${esc(current.runId)})` : 'no run'}</h1>
<p>Target: ${esc(current?.target ?? 'none')}. ${history.length} run(s) in the history.</p>
${details.failures}
${table}
${details.checks}
<h2>Runs</h2><ul class="runs">${verdicts}</ul>
<h2>Phase durations</h2>${lineChart('phase durations', runs, durations)}
<h2>Benchmarks</h2>${benchCharts.join('') || '<p>No benchmarks recorded yet.</p>'}
</body></html>
`;
}
