/**
 * The HTML report, opened in a real Chromium (Debian's, driven by playwright-core): the history of runs
 * is plotted from what the runs recorded, one point per run that measured a value.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { appendHistory, historyEntry, readHistory } from '../../reports/history.ts';
import { toHtml } from '../../reports/html.ts';
import type { RunResults } from '../../reports/model.ts';
import { testNeeding } from './fixtures/needs.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let browser: Browser;
const missing = existsSync(CHROMIUM)
  ? undefined
  : `needs chromium: renders the HTML report (no browser at ${CHROMIUM}; scripts/setup.sh installs Debian's on a lab host, Debian has none for riscv64; or set CHROMIUM_PATH)`;
const test = testNeeding(missing);

beforeAll(async () => {
  if (missing) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
});

/** In the page: each plot's SVG rasterised on a white canvas; how many pixels carry colour. */
const INK = `Promise.all([...document.querySelectorAll('figure.chart svg')].map(async (svg) => {
  const img = new Image();
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(svg));
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 2] < 200) coloured++;
  return coloured;
}))`;

/** A run as the reporter sees it; `start` is the daemon start benchmark in ms, absent when not measured. */
function run(day: number, start: number | undefined, buildxMs: number, failed = false): RunResults {
  const t = (name: string, state: 'passed' | 'failed', notes: string[] = []) => ({
    name,
    file: 'x.test.ts',
    state,
    durationMs: 1,
    retries: 0,
    flaky: false,
    notes,
  });
  return {
    runId: `2026112${day}-010000-abcdef`,
    startedAt: `2026-11-2${day}T01:00:00.000Z`,
    durationMs: 1000,
    properties: { 'target.host': 'runner@board:22', 'target.arch': 'riscv64' },
    errors: [],
    phases: [
      {
        name: 'binaries',
        durationMs: 80_000 + day * 1000,
        tests: [
          t(
            'binaries › starts',
            'passed',
            start === undefined ? [] : [`bench: buildkitd start to ready=${start}`],
          ),
        ],
      },
      {
        name: 'buildx',
        durationMs: buildxMs,
        tests: [
          failed
            ? {
                ...t('buildx › builds', 'failed'),
                message: 'Command failed with exit code 1: docker buildx build',
                details: 'host: runner@board:22  exit: 1\n  stderr (tail):\n    ERROR: failed to solve',
                errorType: 'CommandError',
              }
            : t('buildx › builds', 'passed'),
        ],
      },
    ],
  };
}

async function render(history: RunResults[]) {
  const last = history.at(-1);
  const dir = await localTempDir('html-report');
  const file = join(dir, 'history.jsonl');
  for (const r of history) appendHistory(file, historyEntry(r));
  const html = join(dir, 'report.html');
  await writeFile(html, toHtml(readHistory(file), last));
  const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`file://${html}`);
  return { page, errors, dir };
}

describe('the HTML report in Chromium', () => {
  test('plots three runs: phase durations and each benchmark, one point per run, the last verdict on top', async ({
    annotate,
  }) => {
    const { page, errors } = await render([
      run(1, 9000, 400_000),
      run(2, 8000, 380_000),
      run(3, 7000, 390_000, true),
    ]);
    expect(await page.title()).toBe('BuildKit on riscv64: FAILED');
    const charts = await page.$$eval('figure.chart', (fs) =>
      fs.map((f) => ({
        title: f.getAttribute('data-title'),
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        series: [...f.querySelectorAll('g.series')].map((g) => ({
          name: g.getAttribute('data-series'),
          points: g.querySelectorAll('circle').length,
        })),
      })),
    );
    expect(charts.map((c) => c.title)).toEqual(['phase durations', 'buildkitd start to ready']);
    for (const c of charts) expect(c.width, `${c.title} is not rendered`).toBeGreaterThan(300);
    expect(charts[0]?.series).toEqual([
      { name: 'binaries', points: 3 },
      { name: 'buildx', points: 3 },
    ]);
    expect(charts[1]?.series).toEqual([{ name: 'buildkitd start to ready', points: 3 }]);
    const rows = await page.$$eval('table.phases tbody tr', (trs) => trs.map((tr) => tr.textContent));
    expect(rows).toEqual(['binariesPASSED10083 s', 'buildxFAILED010390 s']);
    // The failure comes first, with its evidence; the target's facts are there.
    const order = await page.$$eval('body > h1, body > section, body > table', (els) =>
      els.map((e) => e.id || e.tagName.toLowerCase()),
    );
    expect(order.slice(0, 2)).toEqual(['h1', 'failures']);
    expect(await page.textContent('#failures')).toContain('buildx › builds: Command failed with exit code 1');
    expect(await page.textContent('#failures pre')).toContain('ERROR: failed to solve');
    expect(await page.textContent('#facts')).toContain('riscv64');
    // Each plot's drawing, rasterised in the page, has ink in it (not a blank area).
    const inked = (await page.evaluate(INK)) as number[];
    expect(inked.length).toBe(2);
    for (const n of inked) expect(n, 'a plot area is blank').toBeGreaterThan(500);
    expect(errors).toEqual([]);
    await mkdir('out/reports', { recursive: true });
    await page.screenshot({ path: 'out/reports/html-report.png', fullPage: true });
    await annotate('screenshot: out/reports/html-report.png');
    await page.close();
  });

  test('a run that did not measure a benchmark leaves a gap, not a made-up point', async () => {
    const { page } = await render([run(1, 9000, 400_000), run(2, undefined, 380_000), run(3, 7000, 390_000)]);
    const points = await page.$$eval('figure.chart[data-title="buildkitd start to ready"] circle', (cs) =>
      cs.map((c) => c.querySelector('title')?.textContent),
    );
    expect(points).toEqual([
      'buildkitd start to ready · 2026-11-21 01:00: 9.0 s',
      'buildkitd start to ready · 2026-11-23 01:00: 7.0 s',
    ]);
    await page.close();
  });
});
