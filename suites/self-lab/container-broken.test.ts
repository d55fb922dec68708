import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { buildBinaries } from '../../build/binaries.ts';
import { buildImage } from '../../build/image.ts';
import { Lab } from '../../harness/lab/lab.ts';
import { DEFAULT_BUILDKIT_REF, loadConfig } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { ResourceTracker, RUN_LABEL } from '../../harness/target/resources.ts';
import type { SshTarget } from '../../harness/target/ssh-target.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';
import { runPhase } from './fixtures/phase-run.ts';

/**
 * The container phase must fail, naming the right check, against images broken in known ways
 * (fixtures/container/broken/*.Dockerfile, each FROM the good image). Each case runs the real phase
 * with --image against the lab, limited (--grep) to the part of the phase that must catch it.
 */
const reason = labUnavailable();
const test = testNeeding(reason);

const BROKEN = fileURLToPath(new URL('../../fixtures/container/broken/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const CHECK = {
  dockerInit:
    'container › the image › /sbin/docker-init points to /usr/bin/tini, and tini --version works through both paths',
  buildx:
    'container › as a Buildx docker-container builder › worker=buildx-docker-container › buildx bootstraps a builder with --driver-opt image=... and builds with it',
  elf: 'container › the image › buildkitd and buildctl in it are static riscv64 ELF binaries on PATH',
  unixOnly:
    'container › run privileged as a daemon › the default command listens on the unix socket only, with no TCP listener',
  reaps: 'container › run privileged as a daemon › PID 1 reaps orphaned processes: none is left a zombie',
  healthy: 'container › run privileged as a daemon › its HEALTHCHECK reports the running daemon healthy',
  labels:
    'container › the image › buildkitd --version and buildctl --version in it name the version and revision of its labels',
};
/** The buildx phase's toml check on a builder: the first check that runs buildctl in the image. */
const buildxToml = (kind: string) => `buildx › worker=${kind} › the buildkitd.toml it was given takes effect`;

/**
 * Each case is the good image with defects applied in order (fixtures/container/broken/<variant>), and
 * the checks that must fail for it. Defects whose checks are independent share one image, one phase run
 * (CI's budget): the docker-init symlink, the labels, the health check, a baked-in TCP config (seen by
 * the published-config check) and buildkitd as PID 1 (seen by the reaping and health checks).
 */
const CASES: ReadonlyArray<{
  variants: string[];
  grep: string;
  checks: string[];
  phase?: string;
  /** What the failure must say (it failed for this defect, not another). */
  evidence?: RegExp;
}> = [
  {
    variants: ['no-symlink', 'relabelled', 'unhealthy', 'baked-tcp-toml', 'no-init'],
    grep: 'docker-init points|name the version and revision of its labels|HEALTHCHECK|unix socket only|reaps orphaned',
    checks: [CHECK.dockerInit, CHECK.labels, CHECK.healthy, CHECK.unixOnly, CHECK.reaps],
  },
  { variants: ['tini-entrypoint'], grep: 'as a Buildx', checks: [CHECK.buildx] },
  { variants: ['amd64-binaries'], grep: 'static riscv64 ELF', checks: [CHECK.elf] },
  { variants: ['tcp-no-tls'], grep: 'unix socket only', checks: [CHECK.unixOnly] },
  // The buildx phase on the builder users create first (one builder: CI's budget); the remote builders
  // run the same buildctl in the image (ImageDaemonWorker.buildctl).
  {
    variants: ['no-buildctl'],
    phase: 'buildx',
    grep: 'worker=buildx-docker-container.*the buildkitd.toml it was given',
    checks: [buildxToml('buildx-docker-container')],
    evidence: /"buildctl": executable file not found/,
  },
];

describe('container phase against broken images', () => {
  let lab: Lab;
  let target: SshTarget;
  let resources: ResourceTracker;
  let good: string;
  let work: string;

  beforeAll(async () => {
    if (reason) return;
    lab = new Lab(loadConfig().lab);
    await lab.up();
    target = await lab.connect();
    resources = new ResourceTracker(target);
    work = await resources.tempDir('broken-images');
    // The good image, made by the phase's build script as a user runs it (and pushed to the lab registry).
    const bins = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'riscv64' });
    const cli = await execa(
      process.execPath,
      [join(ROOT, 'bin', 'buildkit-acceptance.mjs'), 'build-image', '--binaries', bins.dir, '--push'],
      { cwd: ROOT, reject: false, all: true, timeout: 40 * 60_000 },
    );
    expect(cli.exitCode, cli.all?.slice(-3000)).toBe(0);
    const built = JSON.parse(cli.stdout) as { tags: string[]; pushed: boolean };
    expect(built.pushed).toBe(true);
    good = built.tags[0]!;
    for (const tag of built.tags) resources.image(tag);
    // Pushed: the lab registry (reached from here on the host side) serves the tag's manifest.
    const [repo, tag] = good.slice(good.indexOf('/') + 1).split(':');
    const res = await fetch(`http://${(await lab.endpoint()).registryFromHost}/v2/${repo}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        accept: [
          'application/vnd.oci.image.index.v1+json',
          'application/vnd.oci.image.manifest.v1+json',
          'application/vnd.docker.distribution.manifest.v2+json',
          'application/vnd.docker.distribution.manifest.list.v2+json',
        ].join(', '),
      },
    });
    expect(res.status, `${good} is not in the lab registry`).toBe(200);
    const amd64 = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'amd64' });
    for (const b of ['buildkitd', 'buildctl'])
      await target.upload(join(amd64.binDir, b), `${work}/broken/${b}`, 0o755);
  }, 45 * 60_000);
  afterAll(async () => {
    await resources?.cleanup();
    await target?.close();
  });

  /** The good image with the defects applied in order (fixtures/container/broken/<variant>.Dockerfile). */
  async function brokenImage(variants: string[]): Promise<string> {
    let base = good;
    for (const variant of variants) base = await applyDefect(base, variant);
    return base;
  }

  async function applyDefect(base: string, variant: string): Promise<string> {
    const tag = `bka-self/broken-${variant}:1`;
    await target.upload(join(BROKEN, `${variant}.Dockerfile`), `${work}/broken/Dockerfile`);
    await target.exec(
      [
        'docker',
        'build',
        '--build-arg',
        `IMAGE=${base}`,
        '--label',
        `${RUN_LABEL}=${resources.runId}`,
        '-t',
        tag,
        `${work}/broken`,
      ],
      { timeoutMs: 20 * 60_000 },
    );
    resources.image(tag);
    return tag;
  }

  for (const c of CASES) {
    test(
      `fails ${c.checks.length === 1 ? `'${c.checks[0]}'` : `${c.checks.length} checks, each for its defect,`} for the ${c.variants.join(' + ')} image${c.phase ? ` (${c.phase} phase)` : ''}`,
      async () => {
        const tag = await brokenImage(c.variants);
        const run = await runPhase(
          ['--phase', c.phase ?? 'container', '--image', tag, '--grep', c.grep],
          await localTempDir('self-broken-image'),
        );
        expect(run.exitCode, run.output.slice(-3000)).toBe(1);
        for (const check of c.checks) expect(run.failed, run.output.slice(-3000)).toContain(check);
        if (c.evidence) expect(run.output).toMatch(c.evidence);
      },
      30 * 60_000,
    );
  }

  test(
    "the image build reuses the pushed image's cache for the apt layer and rebuilds what a changed input feeds: other binaries end up in the image",
    async ({ annotate }) => {
      // The changed input: the release tarball with one more file, unique to this run (any earlier
      // build's cache must miss it).
      const bins = await buildBinaries({ ref: DEFAULT_BUILDKIT_REF, goarch: 'riscv64' });
      const changed = await localTempDir('changed-binaries');
      await cp(bins.dir, changed, { recursive: true });
      const marker = `bka-changed-${resources.runId}`;
      await writeFile(join(changed, 'bin', marker), `${marker}\n`);
      await execa('tar', ['-C', changed, '-czf', join(changed, bins.manifest.tarball), 'bin']);
      const workDir = await resources.tempDir('rebuilt-image');
      const layers = async (ref: string) =>
        JSON.parse(
          (await target.exec(['docker', 'image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref])).stdout,
        ) as string[];
      const before = await layers(good);
      // As a run builds it: the inline cache of the pushed image, here the good one (another repository,
      // so the good image's tags stay where they are).
      const rebuilt = await buildImage({
        cacheFrom: [good],
        target,
        binariesDir: changed,
        repository: 'bka-self/rebuilt',
        workDir,
        debianMirror: (await lab.endpoint()).debianMirrorFromGuest,
        labels: { [RUN_LABEL]: resources.runId },
      });
      for (const tag of rebuilt.tags) resources.image(tag);
      const after = await layers(rebuilt.ref);
      const inImage = async (ref: string) =>
        (
          await target.exec(
            [
              ...['docker', 'run', '--rm', ...resources.labelFlags, '--entrypoint', 'cat', ref],
              `/usr/local/bin/${marker}`,
            ],
            { reject: false },
          )
        ).stdout;
      await annotate(
        `rebuilt in ${(rebuilt.durationMs / 1000).toFixed(1)}s; layers ${before.map((l) => l.slice(7, 19)).join(' ')} -> ${after.map((l) => l.slice(7, 19)).join(' ')}`,
      );
      // Unchanged inputs (base, apt step): from a cache, not run; the changed one: run, and the new
      // binaries in the image, byte for byte.
      const step = (name: string) => {
        const n = new RegExp(`#(\\d+) \\[\\d+/\\d+\\] ${name}`).exec(rebuilt.progress)?.[1];
        return n ? new RegExp(`^#${n} (CACHED|DONE)`, 'm').exec(rebuilt.progress)?.[1] : undefined;
      };
      const tail = rebuilt.progress.split('\n').slice(-40).join('\n');
      expect(step('RUN set -e'), `the apt step ran again:\n${tail}`).toBe('CACHED');
      expect(step('ADD buildkit-'), `the binaries step was not run:\n${tail}`).toBe('DONE');
      expect(after[0], 'the base layer').toBe(before[0]);
      expect(after[2], 'the binaries layer is the old one').not.toBe(before[2]);
      expect(await inImage(rebuilt.ref), 'the changed input in the rebuilt image').toBe(`${marker}\n`);
      expect(await inImage(good), 'the changed input in the image built before').toBe('');
    },
    30 * 60_000,
  );

  test(
    'fails the whole phase fast for an image whose daemon never becomes ready',
    async ({ annotate }) => {
      const tag = await brokenImage(['never-ready']);
      const t0 = performance.now();
      const run = await runPhase(
        ['--phase', 'container', '--image', tag],
        await localTempDir('self-never-ready'),
      );
      const seconds = (performance.now() - t0) / 1000;
      // Measured, not asserted: the goal is the whole phase within 5 minutes of the image being there.
      await annotate(`the whole container phase failed after ${seconds.toFixed(0)}s (goal: 300s)`);
      process.stderr.write(`self: never-ready image: container phase failed after ${seconds.toFixed(0)}s\n`);
      expect(run.exitCode, run.output.slice(-3000)).toBe(1);
      expect(run.failed).toContain(
        'container › run privileged as a daemon › buildkitd is up within three minutes, and its log shows no startup error',
      );
    },
    30 * 60_000,
  );
});
