import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, test } from 'vitest';
import { workflowArgv } from '../../automation/workflow-commands.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';
import {
  PROJECT,
  RUN_STARTED,
  SCENARIOS,
  type Tool,
  type ToolEnv,
  type ToolRun,
} from '../lists/release-tracking.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'buildkit-acceptance.mjs');

/**
 * One start of the CLI on this machine, measured once: the deadlines below scale with it. A slow machine
 * is not a hung one: a second on a board or a workstation, most of a minute on an emulated riscv64.
 */
const START_MS = await (async () => {
  const t0 = performance.now();
  await execa(process.execPath, [BIN, 'help'], { reject: false, timeout: 10 * 60_000 });
  return performance.now() - t0;
})();
/**
 * A CLI run is a few starts' worth of work; a scenario runs the CLI up to four times, with a stand-in.
 * The start was measured once, before the other phases loaded the machine: on an emulated riscv64 running
 * binaries and container beside this phase, one run took more than six starts (seen in CI's board
 * rehearsal: killed at 154 s after a 23.5 s start). The margin is for that load; a hung CLI is still
 * killed, and says what it waited for. Scenarios run up to one per CPU (vitest.config.ts), so a CLI also
 * shares the machine with its siblings: half as much again.
 */
const CLI_DEADLINE_MS = Math.round(120_000 + 18 * START_MS);
const SCENARIO_DEADLINE_MS = Math.round(60_000 + 4 * CLI_DEADLINE_MS);

/** The suite's CLI as a user's workflow runs it: GITHUB_API_URL and GITHUB_TOKEN, as Actions sets them. */
async function cli(env: ToolEnv, argv: string[]): Promise<ToolRun> {
  const r = await execa(process.execPath, [BIN, ...argv], {
    cwd: ROOT,
    env: {
      GITHUB_API_URL: env.apiUrl,
      GITHUB_TOKEN: env.token ?? '',
      GITHUB_REPOSITORY: '',
      GITHUB_RUN_ID: '',
    },
    reject: false,
    timeout: CLI_DEADLINE_MS,
  });
  const waited = r.timedOut
    ? `\n(killed: did not finish within ${Math.round(CLI_DEADLINE_MS / 1000)} s; one start of the CLI here took ${(START_MS / 1000).toFixed(1)} s)`
    : '';
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: `${r.stderr}${waited}` };
}

/** The workflows' own command lines, read from .github/workflows, with the run's values filled in. */
const workflows: Tool = {
  name: 'the workflows',
  track: (env) =>
    cli(
      env,
      workflowArgv('track-buildkit-releases.yml', 'track', {
        'github.repository': PROJECT,
        'github.event.repository.default_branch': 'main',
      }),
    ),
  complete: (env, version, releaseUrl, digest) =>
    cli(
      env,
      workflowArgv('buildkit-weekly-build.yml', "close the release's tracking issue", {
        'github.repository': PROJECT,
        '$(node -p \'require("./out/build.json").version\')': version,
        '$(cat out/release-url.txt)': releaseUrl,
        '$(node -p \'require("./out/image.json").digest\')': digest,
      }),
    ),
  closeIssues: (env, boards, notBefore = RUN_STARTED) =>
    cli(
      env,
      workflowArgv('nightly-acceptance.yml', 'close the tracking issues that every board proves', {
        'github.repository': PROJECT,
        'github.server_url': 'https://github.com',
        'github.run_id': '4242',
        'needs.start.outputs.at': notBefore,
        '${args[@]}': boards.flatMap((b) => ['--board', b.board, '--results', b.file]),
      }),
    ),
};

// Concurrent, up to one scenario per CPU (vitest.config.ts): each has its own stand-in and temp dir.
describe('release tracking against the GitHub stand-in', { tags: [SERVES['#210']], concurrent: true }, () => {
  for (const scenario of SCENARIOS) test(scenario.name, () => scenario.run(workflows), SCENARIO_DEADLINE_MS);
});
