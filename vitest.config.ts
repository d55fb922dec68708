import { defineConfig } from 'vitest/config';
import { PHASES } from './harness/config.ts';
import { ISSUE_TAGS } from './helpers/tracking-issue.ts';

/**
 * Which phases run side by side (same number), after the suite's own tests. Under TCG a phase leaves the
 * guest's CPUs partly idle (the container image's apt step runs on one of its two), so: binaries beside
 * the container image (its build is the first thing container does) and release-tracking (host-only);
 * rootless beside buildx (its daemon runs the release binaries as the user); multiplatform last and alone (emulated
 * builds use every CPU, and the lab makes its amd64/arm64 base images meanwhile). A check never counts on
 * another phase's containers: each filters what it touches by its own names or the image it runs.
 */
const PHASE_GROUP: Record<(typeof PHASES)[number], number> = {
  binaries: 3,
  container: 3,
  'release-tracking': 3,
  buildx: 4,
  rootless: 4,
  multiplatform: 5,
};

/**
 * One project per phase, after the suite's own tests. Phase projects share one worker (one SSH
 * connection for the run), run files one at a time, and have long timeouts: they drive real daemons.
 */
export default defineConfig({
  test: {
    reporters: ['default', './reports/vitest-reporter.ts'],
    // The tracking issue each phase check serves (helpers/tracking-issue.ts); an unknown tag is an error.
    tags: [...ISSUE_TAGS],
    passWithNoTests: true,
    projects: [
      // The suite's own tests: `self` needs no lab (parsers, reports, a real sshd, Docker, the GitHub
      // stand-in); `self-lab` drives the lab (its lifecycle, and the phases against broken artefacts).
      ...(['self', 'self-lab'] as const).map((name, i) => ({
        extends: true as const,
        test: {
          name,
          include: [`suites/${name}/**/*.test.ts`],
          testTimeout: 120_000,
          hookTimeout: 45 * 60_000,
          pool: 'forks' as const,
          fileParallelism: false,
          // 0 counts as unset in vitest 4.1 (such a group runs last): self is 1, the phases follow.
          sequence: { groupOrder: i + 1 },
        },
      })),
      ...PHASES.map((name) => ({
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
          sequence: { groupOrder: PHASE_GROUP[name] },
        },
      })),
    ],
  },
});
