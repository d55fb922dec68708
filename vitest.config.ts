import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { PHASES } from './harness/plan/config.ts';
import { ISSUE_TAGS } from './helpers/tracking-issue.ts';

/**
 * Which phases run side by side (same group), after the suite's own tests; groups run one after another.
 * Under TCG a phase leaves the guest's CPUs partly idle (the container image's apt step runs on one of
 * its two), so binaries, release-tracking (host-only) and rootless run beside container; buildx, then
 * multiplatform (emulated builds use every CPU, and the lab makes its amd64/arm64 base images until
 * then), each alone. vitest gives a group one worker count (a project's `maxWorkers`): a group of several
 * phases gets one worker per phase, so each of its phases must be one test file (two files of a phase
 * side by side would meet on the target); one with several files runs alone, its files in order. A
 * check never counts on what another phase holds on the target: what it lists or removes it filters by
 * its own names (which carry the phase) or the image it runs.
 */
const PHASE_GROUP: Record<(typeof PHASES)[number], number> = {
  binaries: 3,
  container: 3,
  'release-tracking': 3,
  rootless: 3,
  buildx: 4,
  multiplatform: 5,
};

const testFiles = (phase: string) =>
  readdirSync(new URL(`./suites/${phase}/`, import.meta.url)).filter((f) => f.endsWith('.test.ts'));

/** One worker per phase of the group; a phase beside others must be one file (see above). */
function groupWorkers(phase: (typeof PHASES)[number]): number {
  const members = PHASES.filter((p) => PHASE_GROUP[p] === PHASE_GROUP[phase]);
  if (members.length === 1) return 1;
  for (const p of members)
    if (testFiles(p).length !== 1)
      throw new Error(
        `vitest.config.ts: phase ${p} runs beside ${members.filter((m) => m !== p).join(', ')} but has ${testFiles(p).length} test files; give it a group of its own (PHASE_GROUP)`,
      );
  return members.length;
}

/**
 * One project per phase, after the suite's own tests. A phase runs in one worker (one SSH connection),
 * its files one at a time, with long timeouts: they drive real daemons.
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
          globalSetup: name === 'release-tracking' ? [] : ['./harness/run/global-setup.ts'],
          testTimeout: 15 * 60_000,
          hookTimeout: 45 * 60_000,
          pool: 'forks' as const,
          isolate: false,
          maxWorkers: groupWorkers(name),
          // release-tracking's scenarios are independent (a stand-in and a temp dir each) and CPU-bound (a
          // CLI start is most of a minute on an emulated riscv64): one at a time per CPU, so that a board's
          // run does not wait on one core while the others idle. Other phases' concurrency is their own.
          ...(name === 'release-tracking' ? { maxConcurrency: availableParallelism() } : {}),
          sequence: { groupOrder: PHASE_GROUP[name] },
        },
      })),
    ],
  },
});
