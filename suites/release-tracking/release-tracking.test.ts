import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, test } from 'vitest';
import { workflowArgv } from '../../automation/workflow-commands.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';
import { PROJECT, RUN_STARTED, SCENARIOS, type Tool, type ToolEnv, type ToolRun } from './scenarios.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The suite's CLI as a user's workflow runs it: GITHUB_API_URL and GITHUB_TOKEN, as Actions sets them. */
async function cli(env: ToolEnv, argv: string[]): Promise<ToolRun> {
  const r = await execa(process.execPath, [join(ROOT, 'bin', 'buildkit-acceptance.mjs'), ...argv], {
    cwd: ROOT,
    env: {
      GITHUB_API_URL: env.apiUrl,
      GITHUB_TOKEN: env.token ?? '',
      GITHUB_REPOSITORY: '',
      GITHUB_RUN_ID: '',
    },
    reject: false,
    timeout: 60_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
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

describe('release tracking against the GitHub stand-in', { tags: [SERVES['#210']] }, () => {
  for (const scenario of SCENARIOS) test(scenario.name, () => scenario.run(workflows), 120_000);
});
