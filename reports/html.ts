/**
 * The HTML report: this run's verdict per phase, and the history of runs plotted (phase durations and
 * every benchmark the checks measured), one self-contained file with inline SVG (no script, no
 * network), so it opens anywhere, including from a CI artefact.
 */
import type { HistoryEntry } from './history.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const W = 640;
const H = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

export interface Series {
  name: string;
  /** One value (seconds) per run, or undefined where that run did not measure it. */
  values: Array<number | undefined>;
}

/** A line chart of `series` over the runs, values in seconds; each point has a title with run and value. */
export function lineChart(title: string, runs: string[], series: Series[]): string {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  const max = Math.max(1, ...all) * 1.1;
  const x = (i: number) =>
    PAD.left + (runs.length < 2 ? 0 : (i * (W - PAD.left - PAD.right)) / (runs.length - 1));
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const ticks = [0, max / 2, max]
    .map(
      (t) =>
        `<text x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(t < 10 ? 1 : 0)} s</text><line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/>`,
    )
    .join('');
  const labels = runs
    .map(
      (r, i) =>
        `<text x="${x(i)}" y="${H - 8}" text-anchor="${i === runs.length - 1 && i > 0 ? 'end' : i === 0 ? 'start' : 'middle'}">${esc(r.slice(5, 16))}</text>`,
    )
    .join('');
  const lines = series
    .map((s, k) => {
      const color = COLORS[k % COLORS.length];
      const pts = s.values.flatMap((v, i) => (v === undefined ? [] : [[x(i), y(v), v, runs[i]] as const]));
      const dots = pts
        .map(
          ([px, py, v, run]) =>
            `<circle cx="${px}" cy="${py}" r="3.5" fill="${color}"><title>${esc(s.name)} · ${esc(run ?? '')}: ${v.toFixed(1)} s</title></circle>`,
        )
        .join('');
      return `<g class="series" data-series="${esc(s.name)}" data-points="${pts.length}"><polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([px, py]) => `${px},${py}`).join(' ')}"/>${dots}</g>`;
    })
    .join('');
  const legend = series
    .map(
      (s, k) =>
        `<span class="key"><i style="background:${COLORS[k % COLORS.length]}"></i>${esc(s.name)}</span>`,
    )
    .join('');
  return `<figure class="chart" data-title="${esc(title)}"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${ticks}${labels}${lines}</svg><div class="legend">${legend}</div></figure>`;
}

function runLabel(e: HistoryEntry): string {
  return e.startedAt.replace('T', ' ').slice(0, 16);
}

export function toHtml(history: HistoryEntry[]): string {
  const current = history.at(-1);
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
        values: history
          .map((e) => (e.benchmarks[name] ?? NaN) / 1000)
          .map((v) => (Number.isNaN(v) ? undefined : v)),
      },
    ]),
  );
  const table = current
    ? `<table><thead><tr><th>phase</th><th>verdict</th><th>passed</th><th>failed</th><th>skipped</th><th>duration</th></tr></thead><tbody>${current.phases
        .map(
          (p) =>
            `<tr class="${p.verdict.replace(' ', '-').toLowerCase()}"><td>${esc(p.name)}</td><td>${p.verdict}</td><td>${p.passed}</td><td>${p.failed}</td><td>${p.skipped}</td><td>${(p.durationMs / 1000).toFixed(0)} s</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No run yet.</p>';
  const verdicts = history
    .map(
      (e) =>
        `<li class="${e.verdict.replace(' ', '-').toLowerCase()}">${esc(runLabel(e))} · ${esc(e.runId)} · <b>${e.verdict}</b> · ${esc(e.target)}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BuildKit on riscv64: ${current ? current.verdict : 'no run'}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.passed{background:#e8f5e9}.failed{background:#ffebee}.incomplete{background:#fff8e1}.not-run{background:#eceff1}
.chart{display:inline-block;margin:8px 16px 8px 0}.chart text{font-size:10px;fill:#555}.grid{stroke:#eee}
.legend .key{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
</style></head><body>
<h1>BuildKit on riscv64: ${current ? `${current.verdict} (run ${esc(current.runId)})` : 'no run'}</h1>
<p>Target: ${esc(current?.target ?? 'none')}. ${history.length} run(s) in the history.</p>
${table}
<h2>Runs</h2><ul class="runs">${verdicts}</ul>
<h2>Phase durations</h2>${lineChart('phase durations', runs, durations)}
<h2>Benchmarks</h2>${benchCharts.join('') || '<p>No benchmarks recorded yet.</p>'}
</body></html>
`;
}
