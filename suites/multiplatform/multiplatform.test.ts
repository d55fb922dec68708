/**
 * Phase 3b (#209, part): BuildKit running on riscv64 builds for amd64 and arm64. The builder is the
 * image under test as a Buildx docker-container builder (`worker=buildx-docker-container`); foreign RUN
 * steps go through the target's binfmt_misc entries, each checked (enabled, F flag) before it is used,
 * and skipped with the reason when missing.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushedImage } from '../../harness/docker/registry-http.ts';
import { FALLBACK_BASE } from '../../harness/docker/small-base.ts';
import { awaitBaseImage, servedSmallBase } from '../../harness/run/base-images.ts';
import { benchNote } from '../../harness/run/bench-note.ts';
import { usePhase } from '../../harness/run/phase-context.ts';
import { engineRef, pushRegistry, pushRegistryAhead } from '../../harness/run/run-registry.ts';
import { requireFeature } from '../../harness/sandbox/features.ts';
import { startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { type ImageUnderTest, imageUnderTest } from '../../harness/subjects/image-under-test.ts';
import { goFixture } from '../../harness/target/go-fixture.ts';
import { RUN_LABEL } from '../../harness/target/resources.ts';
import type { CommandResult } from '../../helpers/command-result.ts';
import { formatEvidence } from '../../helpers/command-result.ts';
import { indexProblems } from '../../helpers/platform-index.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/multiplatform/', import.meta.url));
/** What was asked for, and what `uname -m` must print on each. */
const PLATFORMS = { 'linux/riscv64': 'riscv64', 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64' } as const;
type Platform = keyof typeof PLATFORMS;
const ASKED = Object.keys(PLATFORMS) as Platform[];
const ctx = usePhase();
let image: ImageUnderTest;
let worker: WorkerOf<'buildx-docker-container'>;
let dir: string;

beforeAll(async () => {
  // The run's own registry starts beside the builder's bootstrap; its first use awaits it (and its error).
  pushRegistryAhead(ctx);
  image = await imageUnderTest(ctx);
  dir = await ctx.resources.tempDir('multiplatform');
  for (const f of ['seed', 'cross'])
    await ctx.target.upload(join(FIXTURES, f, 'Dockerfile'), `${dir}/${f}/Dockerfile`);
  worker = await startWorker(ctx, 'buildx-docker-container', { image });
});

afterAll(async () => {
  await worker?.stop();
});

let work: Promise<{ native: string; nativeChild: string; dynamic: string } | { missing: string }> | undefined;
/**
 * The work program built for amd64, arm64 and this machine, uploaded beside its Dockerfile; what a native
 * run prints (run here, on the machine running the suite), and what `seq 1 20000 | sha256sum` prints.
 */
async function emulationWork(skip: (note: string) => void) {
  work ??= (async () => {
    const built = await Promise.all([
      goFixture('emulation/work', 'amd64'),
      goFixture('emulation/work', 'arm64'),
      goFixture('emulation/work'),
    ]);
    const missing = built.find((b) => 'missing' in b);
    if (missing && 'missing' in missing) return { missing: missing.missing };
    const [amd64, arm64, host] = built.map((b) => (b as { file: string }).file);
    // Its Dockerfile builds FROM the debian stand-in for amd64 and arm64.
    await awaitBaseImage(ctx, FALLBACK_BASE, ['linux/amd64', 'linux/arm64']);
    await ctx.target.upload(join(FIXTURES, 'work', 'Dockerfile'), `${dir}/work/Dockerfile`);
    for (const [goarch, file] of [
      ['amd64', amd64!],
      ['arm64', arm64!],
    ] as const) {
      await ctx.target.upload(file, `${dir}/work/emulation-work-${goarch}`, 0o755);
    }
    const native = (await execa(host!, [])).stdout;
    const nativeChild = (await execa(host!, ['child', '1'])).stdout.trim();
    const seq = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    const dynamic = `${createHash('sha256').update(seq).digest('hex')}  -\n`;
    return { native: `${native}\n`, nativeChild, dynamic };
  })();
  const w = await work;
  if ('missing' in w) skip(w.missing);
  return w as { native: string; nativeChild: string; dynamic: string };
}

/** The binfmt_misc entry that runs a platform's programs, and its emulator's version, for a failure. */
async function emulatorOf(goarch: string): Promise<string> {
  const name = goarch === 'amd64' ? 'qemu-x86_64' : 'qemu-aarch64';
  const entry = ctx.facts.binfmt.find((b) => b.name === name);
  if (!entry) return `no binfmt_misc entry ${name}`;
  // Debian's binfmt wrappers (qemu-binfmt/*-binfmt-P) do not answer --version; the emulator on PATH does.
  const v = await ctx.target.exec(
    [
      'sh',
      '-c',
      '"$1" --version 2>/dev/null || "$2" --version 2>/dev/null || "$2-static" --version',
      'sh',
      entry.interpreter,
      name,
    ],
    { reject: false },
  );
  return `${name} -> ${entry.interpreter} [${entry.flags}] (${v.stdout.split('\n')[0]?.trim() || `--version: exit ${v.exitCode}`})`;
}

function needsEmulation(skip: (note: string) => void) {
  for (const p of ['linux/amd64', 'linux/arm64'] as const) requireFeature(skip, ctx.facts, `binfmt:${p}`);
}

/** alpine, or where the run's registry mirror has none (the lab), a small stand-in; the report says which. */
async function seedBase(): Promise<{ base: string; note: string }> {
  const mirror = ctx.config.registryMirror;
  if (!mirror) return { base: 'alpine', note: 'FROM alpine, as the seed has it' };
  const r = await ctx.target.exec(
    ['curl', '-fsS', '-o', '/dev/null', `http://${mirror}/v2/library/alpine/tags/list`],
    { reject: false },
  );
  if (!r.failed) return { base: 'alpine', note: `FROM alpine, through the mirror ${mirror}` };
  const small = await servedSmallBase(ctx, ASKED);
  return { base: small.base, note: `alpine substituted (the mirror has none): ${small.note}` };
}

let seed: Promise<{ ref: string; pullRef: string; build: CommandResult; note: string }> | undefined;
/**
 * The seed's build for the three platforms, pushed as one manifest list (once, whichever check asks
 * first): `ref` as the builder pushed it, `pullRef` as the target's engine pulls it.
 */
function pushSeed() {
  seed ??= (async () => {
    const { base, note } = await seedBase();
    const registry = await pushRegistry(ctx);
    const ref = `${registry.forBuilders}/bka/multiplatform-seed:${ctx.resources.runId}`;
    const build = await worker.buildx(
      [
        ...['build', '--progress', 'plain', '--platform', ASKED.join(','), '--build-arg', `BASE=${base}`],
        ...['--output', `type=image,name=${ref},push=true,registry.insecure=true`, `${dir}/seed`],
      ],
      { timeoutMs: 30 * 60_000, context: 'the seed build for three platforms' },
    );
    return { ref, pullRef: engineRef(registry, ref), build, note: `${note}; registry ${registry.how}` };
  })();
  return seed;
}

describe(workerName('buildx-docker-container'), { tags: [SERVES['#209']] }, () => {
  test('the builder lists linux/amd64 and linux/arm64, each from a binfmt_misc entry with the F flag', async ({
    skip,
    annotate,
  }) => {
    needsEmulation(skip);
    const inspect = (await worker.buildx(['inspect'])).stdout;
    const platforms = (/Platforms:\s+(.*)/.exec(inspect)?.[1] ?? '').split(/,\s*/);
    await annotate(`builder platforms: ${platforms.join(', ')}`);
    for (const p of ASKED) expect(platforms, inspect).toContain(p);
  });

  test('the seed build pushes one manifest list of exactly riscv64, amd64 and arm64, each config for its platform', async ({
    skip,
    annotate,
  }) => {
    needsEmulation(skip);
    await withWorkerLogs(worker, async () => {
      const { ref, note, build } = await pushSeed();
      await benchNote(annotate, 'multi-platform build, 3 platforms, emulated', build.durationMs);
      const pushed = await pushedImage(ctx.target, ref, true);
      await annotate(
        `${note}; ${ref} ${pushed.digest}: index ${pushed.indexPlatforms.join(', ')}, configs ${pushed.platforms.join(', ')}, ${pushed.attestations} attestation manifest(s) not counted`,
      );
      expect(indexProblems(pushed, ASKED), `the pushed index of ${ref}`).toEqual([]);
    });
  });

  test('each RUN step ran on its own platform: the build log says Hello from riscv64, x86_64 and aarch64', async ({
    skip,
  }) => {
    needsEmulation(skip);
    const { build } = await pushSeed();
    const log = `${build.stdout}${build.stderr}`;
    for (const machine of Object.values(PLATFORMS))
      expect(log, `no "Hello from ${machine}" in the build log:\n${formatEvidence(build, 60)}`).toMatch(
        new RegExp(`Hello from ${machine}\\b`),
      );
  });

  test('each pushed variant pulls and runs: uname -m prints riscv64, x86_64 and aarch64', async ({
    skip,
    annotate,
  }) => {
    needsEmulation(skip);
    const { pullRef: ref } = await pushSeed();
    ctx.resources.image(ref);
    const seen: string[] = [];
    for (const [platform, machine] of Object.entries(PLATFORMS)) {
      const run = await ctx.target.exec(
        [
          'docker',
          'run',
          '--rm',
          ...ctx.resources.labelFlags,
          '--pull',
          'always',
          '--platform',
          platform,
          ref,
        ],
        { timeoutMs: 10 * 60_000, context: `running the ${platform} variant` },
      );
      // Each pull moves the tag to its variant (classic store), leaving the one before untagged: each is removed.
      const id = await ctx.target.exec(['docker', 'image', 'inspect', '-f', '{{.Id}}', ref], {
        reject: false,
      });
      if (!id.failed) ctx.resources.image(id.stdout.trim());
      seen.push(`${platform}: ${run.stdout.trim()}`);
      expect(run.stdout.trim(), `docker run --platform ${platform}`).toBe(machine);
    }
    await annotate(seen.join('; '));
  });

  test('each emulator runs a program of its platform on the target itself, printing what a native run prints', async ({
    skip,
    annotate,
  }) => {
    needsEmulation(skip);
    const work = await emulationWork(skip);
    const seen: string[] = [];
    for (const goarch of ['amd64', 'arm64']) {
      const file = `${dir}/work/emulation-work-${goarch}`;
      const r = await ctx.target.exec([file, 'child', '1'], { reject: false, timeoutMs: 10 * 60_000 });
      seen.push(`${goarch}: ${r.stdout.trim() || `exit ${r.exitCode}`}`);
      expect(r.stdout.trim(), `${goarch} through ${await emulatorOf(goarch)}:\n${formatEvidence(r)}`).toBe(
        work.nativeChild,
      );
    }
    await annotate(seen.join('; '));
  });

  test('emulated RUN steps do real work as a native run does: compute, fork and exec, threads, and a dynamically linked program', async ({
    skip,
    annotate,
  }) => {
    needsEmulation(skip);
    const work = await emulationWork(skip);
    await withWorkerLogs(worker, async () => {
      const out = `${dir}/work-out`;
      const build = await worker.buildx(
        [
          ...['build', '--progress', 'plain', '--platform', 'linux/amd64,linux/arm64'],
          ...['--output', `type=local,dest=${out}`, `${dir}/work`],
        ],
        { timeoutMs: 30 * 60_000, context: 'the emulated work build', reject: false },
      );
      if (build.failed) {
        const emulators = [await emulatorOf('amd64'), await emulatorOf('arm64')].join('; ');
        expect.fail(`the emulated work build failed (${emulators}):\n${formatEvidence(build, 60)}`);
      }
      await benchNote(annotate, 'emulated real work, amd64 and arm64', build.durationMs);
      for (const [p, machine] of [
        ['linux/amd64', 'x86_64'],
        ['linux/arm64', 'aarch64'],
      ] as const) {
        const read = async (f: string) =>
          (await ctx.target.exec(['cat', `${out}/${p.replace('/', '_')}/${f}`])).stdout;
        expect((await read('machine.txt')).trim(), `uname -m in the ${p} RUN step`).toBe(machine);
        expect(await read('work.txt'), `the work program under ${p}'s emulator`).toBe(work.native);
        expect(await read('dyn.txt'), `seq | sha256sum (dynamically linked) under ${p}'s emulator`).toBe(
          work.dynamic,
        );
      }
      await annotate(`both platforms printed the native results: ${work.native.trim().replace(/\n/g, '; ')}`);
    });
  });

  test('FROM --platform=$BUILDPLATFORM runs natively once per target, with its TARGETPLATFORM and TARGETARCH', async ({
    annotate,
  }) => {
    await withWorkerLogs(worker, async () => {
      await worker.buildx(
        [
          'build',
          '--progress',
          'plain',
          '--platform',
          ASKED.join(','),
          '--output',
          `type=local,dest=${dir}/cross`,
          `${dir}/cross`,
        ],
        { timeoutMs: 15 * 60_000 },
      );
      const lines: string[] = [];
      for (const p of ASKED) {
        const got = (
          await ctx.target.exec(['cat', `${dir}/cross/${p.replace('/', '_')}/platforms.txt`])
        ).stdout.trim();
        lines.push(got);
        expect(got).toBe(`linux/riscv64 ${p} ${p.split('/')[1]} riscv64`);
      }
      await annotate(lines.join('; '));
    });
  });

  // Docker's image store decides what the plain docker driver does with two platforms: the classic store
  // refuses, the containerd store (Docker 29's default on fresh installs) builds and keeps both.
  const dockerDriverBuild = (tag?: string) =>
    ctx.target.exec(
      [
        ...['docker', 'buildx', 'build', '--builder', 'default', '--platform', 'linux/amd64,linux/arm64'],
        ...(tag ? ['--label', `${RUN_LABEL}=${ctx.resources.runId}`, '-t', tag] : []),
        `${dir}/cross`,
      ],
      { reject: false, timeoutMs: 10 * 60_000 },
    );
  // One check for both stores (one name, so that runs on either store compare), its expectation from the
  // store the facts record.
  test("the plain docker driver does with two platforms what the target's image store allows: the containerd store builds each platform into the store as built, the classic store refuses with Docker's own message", async ({
    skip,
    annotate,
  }) => {
    requireFeature(skip, ctx.facts, 'buildx');
    if (ctx.facts.imageStore !== 'containerd') {
      await annotate(`image store: ${ctx.facts.imageStore}`);
      const r = await dockerDriverBuild();
      expect(
        r.failed,
        `the docker driver built for two platforms on the classic store:\n${formatEvidence(r)}`,
      ).toBe(true);
      expect(r.stderr).toMatch(/multi-platform build is not supported for the docker driver/i);
      return;
    }
    const tag = `bka-${ctx.resources.runId}/docker-driver-multi:1`;
    ctx.resources.image(tag);
    const r = await dockerDriverBuild(tag);
    expect(r.failed, `the docker driver on the containerd store did not build:\n${formatEvidence(r)}`).toBe(
      false,
    );
    const seen: string[] = [];
    for (const p of ['linux/amd64', 'linux/arm64']) {
      // A container of that platform's variant (created, never run: the image is FROM scratch), its file read.
      const id = (
        await ctx.target.exec(['docker', 'create', '--platform', p, ...ctx.resources.labelFlags, tag, 'true'])
      ).stdout.trim();
      ctx.resources.container(id);
      const file = await ctx.target.exec(['sh', '-c', 'docker cp "$1:/platforms.txt" - | tar -xO', 'sh', id]);
      seen.push(file.stdout.trim());
      expect(file.stdout.trim(), `${p} in the store`).toBe(`linux/riscv64 ${p} ${p.split('/')[1]} riscv64`);
    }
    await annotate(`image store: containerd; ${seen.join('; ')}`);
  });
});
