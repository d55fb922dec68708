import { defineConfig } from 'vitest/config';

const PHASES = ['binaries', 'container', 'buildx', 'multiplatform', 'rootless', 'release-tracking'] as const;

/**
 * One project per phase, run in order after `self`. Phase projects share one worker (one SSH
 * connection for the run), run files one at a time, and have long timeouts: they drive real daemons.
 */
export default defineConfig({
  test: {
    reporters: ['default', './reports/vitest-reporter.ts'],
    passWithNoTests: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'self',
          include: ['suites/self/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 45 * 60_000,
          pool: 'forks',
          fileParallelism: false,
          // 0 counts as unset in vitest 4.1 (such a group runs last): self is 1, the phases follow.
          sequence: { groupOrder: 1 },
        },
      },
      ...PHASES.map((name, i) => ({
        extends: true as const,
        test: {
          name,
          include: [`suites/${name}/**/*.test.ts`],
          // release-tracking needs no target: it rehearses against the GitHub stand-in.
          globalSetup: name === 'release-tracking' ? [] : ['./harness/global-setup.ts'],
          testTimeout: 15 * 60_000,
          hookTimeout: 45 * 60_000,
          pool: 'forks' as const,
          isolate: false,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: i + 2 },
        },
      })),
    ],
  },
});
