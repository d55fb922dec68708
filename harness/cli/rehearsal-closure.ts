/**
 * The rehearsal's report through the nightly's closing step (#23): the board's results.json, and the SSH
 * run's beside it, each given to `close-issues` with the step's own command line (read from
 * nightly-acceptance.yml) against a GitHub stand-in holding #207-#210 open. What the closer did to each
 * issue is read back from the stand-in, never from the closer's own output; the SSH run's results (the
 * lab's, `run.target-origin` lab) must close nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startGithubStandin } from '../../automation/github-standin/server.ts';
import { workflowArgv } from '../../automation/workflow-commands.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROJECT = 'riscv-lab/buildkit-riscv64';
const TOKEN = 'ghs_Rehearsal0123456789abcdefABCDEF012345';
export const TRACKING_ISSUES = [207, 208, 209, 210] as const;

export interface Closure {
  /** Each tracking issue's state after the closer ran. */
  states: Record<number, 'open' | 'closed'>;
  exitCode: number;
  /** The closer's stderr, its one line per decision. */
  said: string;
}

/** Runs the nightly's closing step on `results` (one board) against a fresh stand-in. */
export async function closeWithNightlyStep(
  board: string,
  results: string,
  notBefore: string,
): Promise<Closure> {
  const dir = await mkdtemp(join(tmpdir(), 'bka-closure-'));
  try {
    const state = join(dir, 'state.json');
    const issues = TRACKING_ISSUES.map((number) => ({
      number,
      title: `phase issue ${number}`,
      state: 'open',
      labels: [],
    }));
    await writeFile(
      state,
      JSON.stringify({
        tokens: [TOKEN],
        repos: {
          'moby/buildkit': { releases: [], private: false },
          [PROJECT]: { private: false, issues, workflows: [], labels: [] },
        },
      }),
    );
    const standin = await startGithubStandin({ stateFile: state });
    try {
      const argv = workflowArgv(
        'nightly-acceptance.yml',
        'close the tracking issues that every board proves',
        {
          'github.repository': PROJECT,
          'github.server_url': 'https://github.com',
          'github.run_id': '1',
          'needs.start.outputs.at': notBefore,
          '${args[@]}': ['--board', board, '--results', results],
        },
      );
      const r = await execa(process.execPath, [join(ROOT, 'bin', 'buildkit-acceptance.mjs'), ...argv], {
        cwd: ROOT,
        env: { GITHUB_API_URL: standin.url, GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: '', GITHUB_RUN_ID: '' },
        reject: false,
        timeout: 5 * 60_000,
      });
      const held = standin.state().repos[PROJECT]?.issues ?? [];
      const states: Record<number, 'open' | 'closed'> = {};
      for (const n of TRACKING_ISSUES) states[n] = held.find((i) => i.number === n)?.state ?? 'open';
      return { states, exitCode: r.exitCode ?? -1, said: r.stderr };
    } finally {
      await standin.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `#207 closed, #208 closed, #209 open, #210 open`. */
export const statesLine = (c: Closure) => TRACKING_ISSUES.map((n) => `#${n} ${c.states[n]}`).join(', ');
