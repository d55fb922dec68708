import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { ociImage, topLayerFile } from '../../harness/docker/oci-tarball.ts';
import { benchNote } from '../../harness/run/bench-note.ts';
import { usePhase } from '../../harness/run/phase-context.ts';
import { phase1WorkerName, startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { type BinariesUnderTest, binariesUnderTest } from '../../harness/subjects/binaries-under-test.ts';
import { goFixture } from '../../harness/target/go-fixture.ts';
import { dockerfileBuild } from '../../helpers/buildctl-args.ts';
import { describeElf, EM_RISCV, parseElf, riscv64Problem } from '../../helpers/elf.ts';
import { buildInfoProblems, parseGoBuildInfo, riscvProfileProblem } from '../../helpers/go-buildinfo.ts';
import { describeMissing } from '../../helpers/kernel-config.ts';
import { sha256SumsProblems, tarballProblems } from '../../helpers/release-files.ts';
import { defaultProfileProblems, parseProbe } from '../../helpers/seccomp-evidence.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';
import { parseBuildkitVersion } from '../../helpers/versions.ts';
import { debianPackageChecks } from './debian-package.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/binaries/', import.meta.url));
const ctx = usePhase();

/** In `--progress plain`, a step is `#N [i/n] RUN ...` and, when served from cache, a later `#N CACHED`. */
function cachedSteps(progress: string): { run: boolean } {
  const lines = progress.split('\n');
  const runIds = lines.map((l) => /^#(\d+) \[[^\]]*\d+\/\d+\] RUN /.exec(l)?.[1]).filter(Boolean);
  return { run: runIds.length > 0 && runIds.every((id) => lines.some((l) => l.trim() === `#${id} CACHED`)) };
}
let bins: BinariesUnderTest;

beforeAll(async () => {
  bins = await binariesUnderTest(ctx);
});

describe('release binaries', { tags: [SERVES['#207']] }, () => {
  for (const name of ['buildkitd', 'buildctl']) {
    test(`${name} is a static little-endian ELF64 for RISC-V`, async ({ annotate }) => {
      const path = `${bins.remoteBinDir}/${name}`;
      const head = await ctx.target.exec(
        ['sh', '-c', 'head -c 4096 "$1" | base64 -w0; echo; stat -c %s "$1"', 'sh', path],
        {
          context: `reading the ELF header of ${name} on the target`,
        },
      );
      const [b64 = '', size = ''] = head.stdout.trim().split('\n');
      const elf = parseElf(Buffer.from(b64, 'base64'));
      await annotate(
        `${name}: ${describeElf(elf)}, ${(Number(size) / 1048576).toFixed(1)} MiB, sha256 ${bins.sha256[name]}; source: ${bins.source}`,
      );
      expect(riscv64Problem(elf), `${name} does not run on linux/riscv64`).toBeUndefined();
      expect(elf.isStatic, `${name} must be statically linked; it is ${describeElf(elf)}`).toBe(true);
    });
  }

  for (const name of ['buildkitd', 'buildctl']) {
    test(`${name} --version runs on the target and names the requested version and revision`, async ({
      annotate,
    }) => {
      const r = await ctx.target.exec([`${bins.remoteBinDir}/${name}`, '--version'], {
        context: `running ${name} --version`,
      });
      const line = r.stdout.trim();
      await annotate(`${name} --version: ${line}`);
      const parsed = parseBuildkitVersion(line);
      expect(
        parsed,
        `'${line}' is not '<binary> github.com/moby/buildkit <version> <revision>' (Buildx needs that line)`,
      ).toBeDefined();
      expect(parsed!.binary, `the first field of '${line}' must name ${name}`).toBe(name);
      expect(parsed!.package).toBe('github.com/moby/buildkit');
      await annotate(
        `expected from ${bins.expectedFrom}: ${bins.expectedVersion} ${bins.expectedRevision ?? ''}`,
      );
      expect(parsed!.version, `version injected: '${line}'`).toBe(bins.expectedVersion);
      if (bins.expectedRevision)
        expect(parsed!.revision, `revision injected: '${line}'`).toBe(bins.expectedRevision);
      else expect(parsed!.revision).not.toBe('');
    });
  }
});

describe('build facts', { tags: [SERVES['#207']] }, () => {
  for (const name of ['buildkitd', 'buildctl']) {
    test(`${name}'s Go build facts are as the build was asked, its build info names the asked version, and its RISC-V profile runs on the target's CPU`, async ({
      annotate,
      skip,
    }) => {
      const file = join(bins.localBinDir, name);
      const r = await execa('go', ['version', '-m', file], { reject: false });
      if ((r as { code?: string }).code === 'ENOENT')
        skip('needs go: `go version -m` on the machine running the suite reads the build facts');
      const info = parseGoBuildInfo(r.stdout);
      expect(info, `go version -m ${file} (exit ${r.exitCode}): ${r.stderr.trim()}`).toBeDefined();
      const s = info!.settings;
      const profile = s.GORISCV64 ?? 'rva20u64';
      await annotate(
        `${name}: ${info!.goVersion}, ${info!.path}, CGO_ENABLED=${s.CGO_ENABLED}, -trimpath=${s['-trimpath'] ?? 'false'}, GOOS/GOARCH=${s.GOOS}/${s.GOARCH}, GORISCV64=${profile}; target isa ${ctx.facts.isa || 'unknown'}`,
      );
      // The build script's contract (static, the Go it recorded, and the asked version in the -ldflags the
      // build info records: what SBOM scanners read); given binaries: the platform.
      const asked = bins.manifest
        ? {
            goarch: 'riscv64',
            goVersion: bins.manifest.goVersion,
            trimpath: false,
            cgo: false,
            version: bins.expectedVersion,
          }
        : { goarch: 'riscv64', cgo: false };
      expect(buildInfoProblems(info!, asked), `the build facts of ${bins.source}`).toEqual([]);
      expect(ctx.facts.isa, "the target's /proc/cpuinfo has no isa line").not.toBe('');
      expect(riscvProfileProblem(profile, ctx.facts.isa)).toBeUndefined();
    });
  }
});

describe('release files', { tags: [SERVES['#207']] }, () => {
  test('SHA256SUMS lists buildkitd, buildctl and the tarball, and every sum holds', async ({ skip }) => {
    if (!bins.releaseDir)
      skip(`--binaries ${ctx.config.binaries} is an archive alone: there is no SHA256SUMS beside it`);
    const tarball = bins.tarball ? [basename(bins.tarball)] : [];
    expect(await sha256SumsProblems(bins.releaseDir!, ['bin/buildkitd', 'bin/buildctl', ...tarball])).toEqual(
      [],
    );
  });

  test('the release tarball holds exactly the loose buildkitd and buildctl, byte for byte', async ({
    skip,
  }) => {
    if (!bins.tarball) skip(`--binaries ${ctx.config.binaries} has no release tarball beside its binaries`);
    expect(await tarballProblems(bins.tarball!, bins.localBinDir, ['buildctl', 'buildkitd'])).toEqual([]);
  });
});

describe('buildkitd on the target', { tags: [SERVES['#207']] }, () => {
  describe(workerName(phase1WorkerName(ctx.facts)), () => {
    let daemon: WorkerOf<'phase1'>;
    let workersJson = '';
    let fixturesDir = '';

    /** Why the daemon was not started: a buildkitd that is not for the target would only run emulated. */
    let notStarted: string | undefined;
    const started = (): WorkerOf<'phase1'> => {
      if (notStarted) throw new Error(notStarted);
      return daemon;
    };

    beforeAll(async () => {
      const elf = bins.buildkitdElf;
      if (ctx.facts.arch === 'riscv64' && elf?.machine !== EM_RISCV) {
        notStarted = `buildkitd was not started: it is ${elf ? describeElf(elf) : 'not an ELF binary'}, not a riscv64 binary (see the ELF check)`;
        return;
      }
      daemon = await startWorker(ctx, 'phase1', { binaries: bins });
      fixturesDir = await ctx.resources.tempDir('fixtures');
      for (const [dir, files] of [
        ['scratch', ['Dockerfile', 'hello.txt']],
        ['run', ['Dockerfile']],
      ] as const) {
        for (const f of files) await ctx.target.upload(join(FIXTURES, dir, f), `${fixturesDir}/${dir}/${f}`);
      }
    });

    test('starts and answers buildctl debug workers within three minutes', async ({ annotate }) => {
      await annotate(`buildkitd runs ${started().how}`);
      const t0 = performance.now();
      workersJson = await withWorkerLogs(started(), () => started().ready());
      await annotate(`answered after ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      await benchNote(annotate, 'buildkitd start to ready', performance.now() - t0);
    });

    test('lists an OCI worker whose platforms include linux/riscv64', async ({ annotate }) => {
      await withWorkerLogs(started(), async () => {
        expect(workersJson, 'the daemon never answered (see the previous check)').not.toBe('');
        const workers = JSON.parse(workersJson) as Array<{
          id: string;
          labels?: Record<string, string>;
          platforms?: Array<{ os: string; architecture: string; variant?: string }>;
        }>;
        const oci = workers.find((w) => w.labels?.['org.mobyproject.buildkit.worker.executor'] === 'oci');
        expect(oci, `no OCI worker in: ${workersJson}`).toBeDefined();
        const platforms = (oci!.platforms ?? []).map((p) =>
          [p.os, p.architecture, p.variant].filter(Boolean).join('/'),
        );
        await annotate(`OCI worker platforms: ${platforms.join(', ')}`);
        expect(platforms).toContain('linux/riscv64');
      });
    });

    async function build(fixture: string, dest: string) {
      const dir = `${fixturesDir}/${fixture}`;
      // The start check's wait, shared (memoized), so a build never depends on that check having run.
      await started().ready();
      return started().buildctl(dockerfileBuild(dir, `type=oci,dest=${dest}`), {
        context: `building the ${fixture} fixture with buildctl`,
        timeoutMs: 15 * 60_000,
      });
    }

    test('builds FROM scratch + COPY into an OCI tarball whose config says riscv64', async ({ annotate }) => {
      await withWorkerLogs(started(), async () => {
        const out = `${fixturesDir}/scratch.oci.tar`;
        const r = await build('scratch', out);
        await annotate(`scratch build: ${(r.durationMs / 1000).toFixed(1)}s`);
        const image = await ociImage(ctx.target, out);
        const { config } = image;
        expect(`${config.os}/${config.architecture}`).toBe('linux/riscv64');
        const content = await topLayerFile(ctx.target, out, image, 'hello.txt');
        expect(content).toBe('hello from buildkit-riscv64-acceptance\n');
      });
    });

    let coldLayers: string[] = [];
    test('builds FROM busybox + RUN through runc, and the RUN step reports the target machine', async ({
      annotate,
    }) => {
      await withWorkerLogs(started(), async () => {
        const out = `${fixturesDir}/run.oci.tar`;
        const r = await build('run', out);
        await annotate(`RUN build (cold): ${(r.durationMs / 1000).toFixed(1)}s`);
        await benchNote(annotate, 'build with a RUN step, cold', r.durationMs);
        const image = await ociImage(ctx.target, out);
        coldLayers = image.manifest.layers.map((l) => l.digest);
        const { config } = image;
        expect(`${config.os}/${config.architecture}`).toBe('linux/riscv64');
        const arch = await topLayerFile(ctx.target, out, image, 'arch.txt');
        const uname = await ctx.target.exec(['uname', '-m']);
        expect(arch.trim(), 'uname -m inside the RUN step').toBe(uname.stdout.trim());
        expect(arch.trim()).toBe('riscv64');
      });
    });

    test('a RUN step runs under a seccomp profile that knows riscv64: riscv_flush_icache allowed, keyctl denied', async ({
      annotate,
      skip,
    }) => {
      const probe = await goFixture('seccomp/probe', 'riscv64');
      if ('missing' in probe) skip(probe.missing);
      await withWorkerLogs(started(), async () => {
        const dir = `${fixturesDir}/seccomp`;
        await ctx.target.upload(join(FIXTURES, 'seccomp', 'Dockerfile'), `${dir}/Dockerfile`);
        await ctx.target.upload((probe as { file: string }).file, `${dir}/seccomp-probe`, 0o755);
        const out = `${fixturesDir}/seccomp.oci.tar`;
        await build('seccomp', out);
        const image = await ociImage(ctx.target, out);
        const printed = await topLayerFile(ctx.target, out, image, 'seccomp.txt');
        await annotate(`RUN step: ${printed.trim().replace(/\n/g, '; ')}`);
        const problems = defaultProfileProblems(parseProbe(printed), 'a RUN step of buildkitd');
        expect(problems, problems.join('\n')).toEqual([]);
      });
    });

    // Served from cache, shown by what BuildKit reports and exports, not by the clock: a warm build is
    // not reliably faster on a busy board (the export's fixed cost dominates a step this small).
    test('a second build of the same fixture is served from cache: its RUN step reported CACHED, its layers the same blobs', async ({
      annotate,
    }) => {
      await withWorkerLogs(started(), async () => {
        expect(coldLayers, 'the cold build did not run (see the previous check)').not.toEqual([]);
        const out = `${fixturesDir}/run-again.oci.tar`;
        const r = await build('run', out);
        await annotate(`RUN build (warm): ${(r.durationMs / 1000).toFixed(1)}s`);
        await benchNote(annotate, 'build with a RUN step, warm', r.durationMs);
        expect(
          cachedSteps(r.stderr).run,
          `the RUN step was not reported CACHED; progress:\n${r.stderr.trim().split('\n').slice(-20).join('\n')}`,
        ).toBe(true);
        const warm = await ociImage(ctx.target, out);
        const warmLayers = warm.manifest.layers.map((l) => l.digest);
        expect(
          warmLayers.join(' '),
          `the warm build exported other layers than the cold one (${coldLayers.join(' ')}): its RUN step ran again`,
        ).toBe(coldLayers.join(' '));
      });
    });
  });
});

describe("the target's container runtime", { tags: [SERVES.extended] }, () => {
  test('the kernel has every option containers need, built in or as a module', async ({ annotate, skip }) => {
    const config = ctx.facts.kernelConfig;
    if (!config.source)
      skip(
        'needs kernel-config: neither /proc/config.gz nor /boot/config-<release> is readable on the target',
      );
    await annotate(`read from ${config.source} (kernel ${ctx.facts.kernel})`);
    expect(describeMissing(config), `kernel ${ctx.facts.kernel} on ${ctx.facts.host}`).toEqual([]);
  });

  test('runc on the target is built with seccomp: its --version names libseccomp', async ({
    annotate,
    skip,
  }) => {
    // Where Debian and Docker's packages put it, also when the user's PATH has no sbin.
    const r = await ctx.target.exec(['sh', '-c', 'PATH="$PATH:/usr/sbin:/sbin" exec runc --version'], {
      reject: false,
    });
    if ((r.exitCode === 127 || /not found/.test(r.stderr)) && !r.stdout)
      skip('needs runc: no runc on the target PATH');
    await annotate(r.stdout.trim().replace(/\n/g, '; '));
    expect(
      r.stdout,
      `runc --version on ${ctx.facts.host}: a runc without libseccomp enforces no profile`,
    ).toMatch(/^libseccomp: \d+\.\d+/m);
  });
});

debianPackageChecks(ctx, () => bins);
