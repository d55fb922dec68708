import { describe, expect, test } from 'vitest';
import { SCENARIOS } from '../lists/release-tracking.ts';
import { NAIVE_TOOLS } from './fixtures/naive-tools.ts';

/**
 * The release-tracking phase's scenarios can fail: run against deliberately naive tools (the traps the
 * real tracker avoids), every scenario is failed by at least one of them, and every naive tool fails
 * at least one scenario.
 */
describe('the release-tracking scenarios against naive tools', () => {
  const failedBy = new Map<string, string[]>();
  for (const scenario of SCENARIOS) {
    test(`'${scenario.name}' fails for a naive tool`, async () => {
      const failing: string[] = [];
      for (const tool of NAIVE_TOOLS) {
        const outcome = await scenario.run(tool).then(
          () => 'passed',
          () => 'failed',
        );
        if (outcome === 'failed') failing.push(tool.name);
      }
      failedBy.set(scenario.name, failing);
      expect(failing, 'no naive tool fails this scenario: it cannot catch a defect').not.toEqual([]);
    }, 300_000);
  }

  test('every naive tool fails at least one scenario', () => {
    const caught = new Set([...failedBy.values()].flat());
    expect(NAIVE_TOOLS.map((t) => t.name).filter((n) => !caught.has(n))).toEqual([]);
  });
});
