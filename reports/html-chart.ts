/** Inline SVG line charts for the HTML report: no script, no network. */

export const esc = (s: string) =>
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
