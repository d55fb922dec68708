/**
 * Phase 3a (#209, part): BuildKit's GC keeps a small disk in bounds. The image under test runs as a
 * daemon (`worker=image-daemon`) whose state is a small tmpfs volume, with `maxUsedSpace` set in its
 * buildkitd.toml; builds that together exceed it leave usage under it, and the policy shows in
 * `buildctl debug workers`.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { usePhase } from '../../harness/run/phase-context.ts';
import { startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { imageUnderTest } from '../../harness/subjects/image-under-test.ts';
import { buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/buildx/gc/Dockerfile', import.meta.url));
const LIMIT_MB = 100;
const BUILDS = 4;
const BLOB_MB = 40;
const ctx = usePhase();
let worker: WorkerOf<'image-daemon'>;
let dir: string;

beforeAll(async () => {
  const image = await imageUnderTest(ctx);
  dir = await ctx.resources.tempDir('gc');
  await ctx.target.upload(FIXTURE, `${dir}/ctx/Dockerfile`, 0o644);
  const volume = ctx.resources.name('gc-state');
  await ctx.target.exec([
    ...['docker', 'volume', 'create', ...ctx.resources.labelFlags, '--driver', 'local'],
    ...['--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=768m', volume],
  ]);
  ctx.resources.volume(volume);
  worker = await startWorker(ctx, 'image-daemon', {
    image,
    toml: `${buildkitdToml(ctx.config.registryMirror)}\n[worker.oci]\n  gc = true\n\n[[worker.oci.gcpolicy]]\n  all = true\n  maxUsedSpace = "${LIMIT_MB}MB"\n`,
    stateVolume: volume,
  });
  await ctx.target.exec(['docker', 'cp', `${dir}/ctx`, `${worker.container}:/tmp/gc-ctx`]);
  await worker.ready();
});

afterAll(async () => {
  await worker?.stop();
});

/** `Total:` of `buildctl du`, in bytes (BuildKit prints decimal units). */
function totalBytes(du: string): number | undefined {
  const m = /Total:\s+([\d.]+)\s*([kMGT]?B)/.exec(du);
  if (!m) return undefined;
  const unit = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2] as 'B'] ?? 1;
  return Number(m[1]) * unit;
}

describe(workerName('image-daemon'), { tags: [SERVES['#209']] }, () => {
  test(`with maxUsedSpace ${LIMIT_MB}MB on a small tmpfs volume, ${BUILDS} builds of ${BLOB_MB} MB each leave usage under it`, async ({
    annotate,
  }) => {
    await withWorkerLogs(worker, async () => {
      const out = (await worker.buildctl(['debug', 'workers', '--format', '{{json .}}'])).stdout;
      const [oci] = JSON.parse(out) as { gcPolicy?: { all: boolean; maxUsedSpace?: number }[] }[];
      // "100MB" as BuildKit reads it: decimal or binary megabytes, either is what was asked for.
      const limit = oci?.gcPolicy?.find((r) => r.all)?.maxUsedSpace ?? 0;
      expect([LIMIT_MB * 1e6, LIMIT_MB * 2 ** 20], `the catch-all GC rule of:\n${out}`).toContain(limit);
      for (let n = 1; n <= BUILDS; n++)
        await worker.buildctl(
          [
            ...['build', '--frontend', 'dockerfile.v0', '--local', 'context=/tmp/gc-ctx'],
            ...['--local', 'dockerfile=/tmp/gc-ctx', '--opt', `build-arg:N=${n}`],
          ],
          { timeoutMs: 10 * 60_000, context: `GC build ${n} of ${BUILDS}` },
        );
      const seen: string[] = [];
      const under = await pollUntil(
        async () => {
          const du = (await worker.buildctl(['du'])).stdout;
          const total = totalBytes(du);
          seen.push(`${((total ?? Number.NaN) / 1e6).toFixed(0)}MB`);
          return total !== undefined && total <= limit ? du : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 5000, what: `buildctl du to fall to ${LIMIT_MB}MB or less` },
      ).catch((e: Error) => {
        throw new Error(`${e.message}; totals seen: ${seen.join(' -> ')}`);
      });
      await annotate(`du total after ${BUILDS * BLOB_MB} MB of builds: ${seen.join(' -> ')}`);
      expect(totalBytes(under)).toBeLessThanOrEqual(limit);
    });
  });
});
