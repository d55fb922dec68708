import { describe, expect, test } from 'vitest';
import { parseFlags } from '../../automation/command-flags.ts';
import { cliSteps, workflowArgv } from '../../automation/workflow-commands.ts';
import { parseArgs } from '../../harness/cli/main.ts';

/**
 * Every command line of the suite's CLI in the three workflows is one the CLI accepts: a renamed command
 * or flag fails here, not on the runner. (track and close-issues also run for real in the
 * release-tracking phase; run, build-binaries, build-image and build-deb in the phases and the self tests.)
 */
describe('the workflows', () => {
  const steps = cliSteps();

  test('run the suite in every workflow the seeds name', () => {
    expect(new Set(steps.map(([f]) => f))).toEqual(
      new Set(['buildkit-weekly-build.yml', 'track-buildkit-releases.yml', 'nightly-acceptance.yml']),
    );
  });

  for (const [file, step] of steps) {
    test(`${file} › ${step}: the CLI accepts its command line`, () => {
      const argv = workflowArgv(file, step, { '${args[@]}': ['--board', 'X', '--results', 'X'] }, 'X');
      const [command = '', ...rest] = argv;
      if (['track', 'close-issues', 'github-standin'].includes(command))
        expect(() => parseFlags(command, rest)).not.toThrow();
      else {
        const parsed = parseArgs(argv);
        expect(['run', 'doctor', 'janitor', 'build-binaries', 'build-image', 'build-deb']).toContain(
          parsed.command,
        );
      }
    });
  }
});
