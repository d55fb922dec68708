/**
 * The Debian package checks (binaries phase) must fail, naming the check and the defect, against
 * packages broken in known ways: a unit whose ExecStart path the package does not install, a conffile
 * that is not declared (an upgrade overwrites the edit), and a package for another architecture. Each
 * case runs the real phase against the lab as a user would, `--deb` the broken package, limited to the
 * package checks.
 */
import { beforeAll, describe, expect } from 'vitest';
import { buildBinaries } from '../../build/binaries.ts';
import { buildDeb } from '../../build/deb.ts';
import { Lab } from '../../harness/lab/lab.ts';
import { DEFAULT_BUILDKIT_REF, loadConfig } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { brokenDeb, type DebDefect } from './fixtures/broken-deb.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';
import { runPhase } from './fixtures/phase-run.ts';

const reason = labUnavailable();
const test = testNeeding(reason);
const CHECKS = 'binaries › Debian package › ';
const INSTALL = `${CHECKS}sudo apt-get install ./buildkit_*.deb installs it, its dependencies from the target's own APT sources`;
const ACTIVATION = `${CHECKS}the socket is active, and the first buildctl through it starts buildkitd (socket activation) with the edited conffile; a RUN step builds`;
const UPGRADE = `${CHECKS}an edited conffile survives an upgrade to a newer build, and the daemon serves again after it`;

describe('Debian package checks against broken packages', () => {
  let good: string;
  let binariesDir: string;

  beforeAll(async () => {
    if (reason) return;
    await new Lab(loadConfig().lab).up();
    binariesDir = (await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'riscv64' })).dir;
    good = (await buildDeb({ binariesDir, outDir: await localTempDir('self-deb'), compression: 'gzip' }))
      .path;
  }, 45 * 60_000);

  const cases: Array<[DebDefect, string, RegExp]> = [
    ['wrong-execstart', ACTIVATION, /ExecStart=.*\/usr\/local\/bin\/buildkitd|status=203/],
    ['no-conffile-declaration', UPGRADE, /buildkitd\.toml after the upgrade/],
    ['wrong-architecture', INSTALL, /architecture|amd64/i],
  ];
  for (const [defect, check, evidence] of cases)
    test(
      `a package with ${defect} fails '${check.slice(CHECKS.length)}'`,
      async () => {
        const deb = await brokenDeb(good, defect, await localTempDir('self-deb-broken'));
        const run = await runPhase(
          ['--phase', 'binaries', '--binaries', binariesDir, '--deb', deb, '--grep', 'Debian package'],
          await localTempDir('self-deb-report'),
        );
        expect(run.exitCode, run.output.slice(-3000)).toBe(1);
        expect(run.failed, run.output.slice(-3000)).toContain(check);
        expect(run.output).toMatch(evidence);
      },
      25 * 60_000,
    );
});
