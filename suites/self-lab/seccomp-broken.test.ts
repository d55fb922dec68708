import { beforeAll, describe, expect } from 'vitest';
import { Lab } from '../../harness/lab/lab.ts';
import { DEFAULT_BUILDKIT_REF, loadConfig } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { brokenSeccompBuild } from './fixtures/broken-seccomp.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';
import { runPhase } from './fixtures/phase-run.ts';

/**
 * The binaries phase's seccomp check must fail, naming the defect, against a buildkitd whose RUN steps
 * get a default profile that does not know riscv64 (moby/moby#48454) or no profile at all (a runc
 * without seccomp, k3s-io/k3s#14529): the real phase against the lab, limited to its seccomp checks;
 * the runc check (the lab's runc has libseccomp) must still pass.
 */
const reason = labUnavailable();
const test = testNeeding(reason);

const SECCOMP_CHECK =
  'binaries › buildkitd on the target › worker=privileged-container › a RUN step runs under a seccomp profile that knows riscv64: riscv_flush_icache allowed, keyctl denied';
const RUNC_CHECK =
  "binaries › the target's container runtime › runc on the target is built with seccomp: its --version names libseccomp";

describe('binaries phase against buildkitd builds with a broken seccomp default', () => {
  beforeAll(async () => {
    if (reason) return;
    await new Lab(loadConfig().lab).up();
  });

  for (const [kind, says] of [
    ['no-riscv64', /riscv_flush_icache \(259\) answered errno 1 .*moby\/moby#48454/],
    [
      'no-profile',
      /keyctl \(219\), which the default profile denies, answered .*no seccomp profile is in force/,
    ],
  ] as const) {
    test(
      `a profile with ${kind === 'no-riscv64' ? 'no riscv64 in its arch map' : 'nothing in force'} fails the seccomp check, which names it`,
      async () => {
        const built = await brokenSeccompBuild(kind, DEFAULT_BUILDKIT_REF);
        const run = await runPhase(
          ['--phase', 'binaries', '--binaries', built.dir, '--grep', 'seccomp'],
          await localTempDir('self-seccomp'),
        );
        expect(run.exitCode, run.output.slice(-3000)).toBe(1);
        expect(run.failed).toEqual([SECCOMP_CHECK]);
        expect(run.failures[SECCOMP_CHECK], run.output.slice(-4000)).toMatch(says);
        expect(run.passed).toContain(RUNC_CHECK);
      },
      25 * 60_000,
    );
  }
});
