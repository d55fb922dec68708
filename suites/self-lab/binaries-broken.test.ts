import { chmod, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { buildBinaries } from '../../build/binaries.ts';
import { Lab } from '../../harness/lab/lab.ts';
import { DEFAULT_BUILDKIT_REF, loadConfig } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';
import { runPhase } from './fixtures/phase-run.ts';

/**
 * The binaries phase must fail, naming the right check, against binaries that are wrong in known ways.
 * Each case runs the real phase against the lab, as a user would, limited (--grep) to the checks
 * that must catch it and the ones that must still pass, so the three cases stay within CI's budget.
 */
const reason = labUnavailable();
const test = testNeeding(reason);

const ELF_CHECK = 'binaries › release binaries › buildkitd is a static little-endian ELF64 for RISC-V';
const VERSION_CHECK =
  'binaries › release binaries › buildkitd --version runs on the target and names the requested version and revision';
const START_CHECK =
  'binaries › buildkitd on the target › worker=privileged-container › starts and answers buildctl debug workers within three minutes';

describe('binaries phase against broken binaries', () => {
  beforeAll(async () => {
    if (reason) return;
    await new Lab(loadConfig().lab).up();
  });

  const out = () => localTempDir('self-broken');

  test(
    'fails the ELF check for an amd64 build',
    async () => {
      // Kept in the binaries cache like any build (the container self test uses the same amd64 build).
      const built = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'amd64' });
      const run = await runPhase(
        ['--phase', 'binaries', '--binaries', built.dir, '--grep', 'release binaries'],
        await out(),
      );
      expect(run.exitCode, run.output.slice(-3000)).toBe(1);
      expect(run.failed).toContain(ELF_CHECK);
    },
    20 * 60_000,
  );

  test(
    'fails the version check for a build without version injection',
    async () => {
      const built = await buildBinaries({
        ref: DEFAULT_BUILDKIT_REF,
        goarch: 'riscv64',
        versionInjection: false,
      });
      const run = await runPhase(
        ['--phase', 'binaries', '--binaries', built.dir, '--grep', 'release binaries'],
        await out(),
      );
      expect(run.exitCode, run.output.slice(-3000)).toBe(1);
      expect(run.failed).toContain(VERSION_CHECK);
      expect(run.passed).toContain(ELF_CHECK);
    },
    20 * 60_000,
  );

  test(
    'fails the version and release-file checks for a buildctl renamed to buildkitd after release',
    async () => {
      const built = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'riscv64' });
      const dir = await out();
      await cp(built.dir, dir, { recursive: true });
      await chmod(join(dir, 'bin', 'buildkitd'), 0o755);
      await cp(join(dir, 'bin', 'buildctl'), join(dir, 'bin', 'buildkitd'));
      const run = await runPhase(
        ['--phase', 'binaries', '--binaries', dir, '--grep', 'release files|buildkitd --version'],
        await out(),
      );
      expect(run.exitCode, run.output.slice(-3000)).toBe(1);
      expect(run.failed).toContain(VERSION_CHECK);
      expect(run.failed).toContain(
        'binaries › release files › SHA256SUMS lists buildkitd, buildctl and the tarball, and every sum holds',
      );
      expect(run.failed).toContain(
        'binaries › release files › the release tarball holds exactly the loose buildkitd and buildctl, byte for byte',
      );
    },
    20 * 60_000,
  );

  test(
    'fails the daemon check for a buildkitd that cannot start (state dir unwritable)',
    async () => {
      const built = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'riscv64' });
      const run = await runPhase(
        [
          '--phase',
          'binaries',
          '--binaries',
          built.dir,
          '--buildkitd-flags=--root=/proc/bka-unwritable',
          '--grep',
          'buildkitd --version|starts and answers',
        ],
        await out(),
      );
      expect(run.exitCode, run.output.slice(-3000)).toBe(1);
      expect(run.failed).toContain(START_CHECK);
      expect(run.passed).toContain(VERSION_CHECK);
    },
    20 * 60_000,
  );
});
