/**
 * The board rehearsal's two verdicts beside the run's own: the comparison with the SSH run (every
 * difference named, with why) and the nightly's closing step on the rehearsal's report (the real CLI,
 * its command line from nightly-acceptance.yml, against the GitHub stand-in).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closeWithNightlyStep } from '../../harness/cli/rehearsal-closure.ts';
import type { RunResults } from '../../reports/model.ts';
import { comparedPhases, compareRuns } from '../../reports/run-comparison.ts';
import { ALL_GREEN, boardResults } from '../lists/release-tracking.ts';

/** Every phase green, as the scenarios' boards report it. */
const EVERY_PHASE = ALL_GREEN;
const green = () => boardResults('v0.33.1', EVERY_PHASE);
const STARTED = '2026-11-23T02:00:00Z';

describe('the board rehearsal compared with the SSH run', () => {
  test('the same run twice differs in nothing', () => {
    expect(compareRuns(green(), green())).toEqual([]);
  });

  test('a check skipped on the board is named with its reason, with the verdict and counts', () => {
    const board = boardResults('v0.33.1', { ...EVERY_PHASE, rootless: 'skipped' });
    const what = compareRuns(board, green()).map((d) => `${d.phase}: ${d.what}`);
    expect(what).toEqual([
      'rootless: verdict INCOMPLETE on the board, PASSED over SSH',
      'rootless: counts 1/0/1 on the board, 1/0/0 over SSH (passed/failed/skipped)',
      'rootless: rootless › the other check: skipped (no uidmap on the target) on the board, absent over SSH',
    ]);
  });

  test('only the phases both runs ran are compared; the ones only the board was asked for are named', () => {
    const ssh = green();
    ssh.phases = ssh.phases.filter((p) => ['buildx', 'release-tracking'].includes(p.name));
    const board = green();
    board.phases = board.phases.filter((p) => ['binaries', 'container', 'release-tracking'].includes(p.name));
    const { both, alone } = comparedPhases(['release-tracking', 'binaries', 'container'], board, ssh);
    expect(both).toEqual(['release-tracking']);
    expect(alone).toEqual(['binaries', 'container']);
    expect(compareRuns(board, ssh, both)).toEqual([]);
    // Nothing named: every phase the board ran; one the board lacks but SSH ran is still a difference.
    expect(comparedPhases([], board, ssh).both).toEqual(['release-tracking']);
    const lacking = comparedPhases(['buildx', 'binaries'], board, ssh);
    expect(lacking.both).toEqual(['buildx']);
    expect(compareRuns(board, ssh, lacking.both).map((d) => d.what)).toEqual(['the phase ran only over SSH']);
  });

  test('a phase that ran on one side only is named', () => {
    const { binaries: _b, ...rest } = EVERY_PHASE;
    const diffs = compareRuns(boardResults('v0.33.1', rest), green(), ['binaries', 'container']);
    expect(diffs).toEqual([{ phase: 'binaries', what: 'the phase ran only over SSH' }]);
  });
});

describe("the nightly's closing step on the rehearsal's report", () => {
  let dir: string;
  const file = async (name: string, results: RunResults) => {
    const f = join(dir, `${name}.json`);
    await writeFile(f, JSON.stringify(results));
    return f;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bka-self-closure-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a green board run of every phase closes #207-#210', async () => {
    const c = await closeWithNightlyStep('lab-rehearsal', await file('green', green()), STARTED);
    expect(c.states, c.said).toEqual({ 207: 'closed', 208: 'closed', 209: 'closed', 210: 'closed' });
  });

  test('a skip in a phase of #209 keeps #209 and #210 open', async () => {
    const results = boardResults('v0.33.1', { ...EVERY_PHASE, rootless: 'skipped' });
    const c = await closeWithNightlyStep('lab-rehearsal', await file('skip', results), STARTED);
    expect(c.states, c.said).toEqual({ 207: 'closed', 208: 'closed', 209: 'open', 210: 'open' });
  });

  test("the lab's own results close nothing, and the closer says why", async () => {
    const lab = green();
    lab.properties['run.target-origin'] = 'lab';
    const c = await closeWithNightlyStep('lab-rehearsal', await file('lab', lab), STARTED);
    expect(c.states).toEqual({ 207: 'open', 208: 'open', 209: 'open', 210: 'open' });
    expect(c.said).toMatch(/run\.target-origin lab/);
  });
}, 120_000);
