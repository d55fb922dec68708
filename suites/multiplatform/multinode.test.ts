/**
 * Phase 3b (#209, part): a multi-node builder, the path users take when emulation is too slow: a
 * riscv64 node (the image under test as a daemon on the target) and a native amd64 node joined with
 * `buildx create --append --node ... --platform linux/amd64`. The board's owner names that node
 * (`--amd64-node`, `worker=given-amd64`); in the lab the x86-64 host is it (`worker=host-amd64`);
 * elsewhere the checks skip saying how to give one.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { servedSmallBase } from '../../harness/run/base-images.ts';
import { benchNote } from '../../harness/run/bench-note.ts';
import { usePhase } from '../../harness/run/phase-context.ts';
import {
  type NativeNode,
  nativeNode,
  nativeNodeName,
  nativeNodeProblem,
} from '../../harness/sandbox/native-node.ts';
import { startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { certsBothSides } from '../../harness/sandbox/target-certs.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { imageUnderTest } from '../../harness/subjects/image-under-test.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/multiplatform/where/Dockerfile', import.meta.url));
const ctx = usePhase();
let problem: string | undefined;
let riscv: WorkerOf<'image-daemon'>;
let amd64: NativeNode;
let builder: string;
let dir: string;

beforeAll(async () => {
  problem = await nativeNodeProblem(ctx);
  if (problem) return;
  const image = await imageUnderTest(ctx);
  dir = await ctx.resources.tempDir('multinode');
  await ctx.target.upload(FIXTURE, `${dir}/ctx/Dockerfile`);
  const certs = await certsBothSides(ctx.target, ctx.resources);
  riscv = await startWorker(ctx, 'image-daemon', { image });
  await riscv.ready();
  amd64 = await nativeNode(ctx, certs);
  builder = ctx.resources.name('multinode');
  ctx.resources.builder(builder);
  const create = (args: string[]) =>
    ctx.target.exec(['docker', 'buildx', 'create', '--name', builder, '--driver', 'remote', ...args], {
      timeoutMs: 5 * 60_000,
    });
  await create(['--node', 'riscv64', '--platform', 'linux/riscv64', riscv.address]);
  await create([
    ...['--append', '--node', 'amd64', '--platform', 'linux/amd64'],
    ...(amd64.driverOpt ? ['--driver-opt', amd64.driverOpt] : []),
    amd64.address,
  ]);
  await ctx.target.exec(['docker', 'buildx', 'inspect', '--bootstrap', builder], { timeoutMs: 5 * 60_000 });
});

afterAll(async () => {
  await ctx.target.exec(['docker', 'buildx', 'rm', '--force', builder ?? 'none'], { reject: false });
  await amd64?.stop();
  await riscv?.stop();
});

const needsNode = (skip: (note: string) => void) => {
  if (problem) skip(`needs native-amd64-node: ${problem}`);
};

describe(workerName(nativeNodeName(ctx)), { tags: [SERVES.extended] }, () => {
  test('the builder has a riscv64 node on the target and a native linux/amd64 node', async ({
    skip,
    annotate,
  }) => {
    needsNode(skip);
    const inspect = (await ctx.target.exec(['docker', 'buildx', 'inspect', builder])).stdout;
    const nodes = inspect.split(/\n(?=Name:)/).filter((n) => /Endpoint:/.test(n));
    const platforms = (n: string) => /Platforms:\s+(.*)/.exec(n)?.[1] ?? '';
    await annotate(nodes.map((n) => `${/Name:\s+(\S+)/.exec(n)?.[1]}: ${platforms(n)}`).join('; '));
    expect(nodes).toHaveLength(2);
    expect(platforms(nodes[0]!).split(/,\s*/)[0]).toBe('linux/riscv64*');
    expect(platforms(nodes[1]!).split(/,\s*/)[0]).toBe('linux/amd64*');
  });

  test('a build for riscv64 and amd64 runs each natively: amd64 on an x86 CPU, riscv64 on the target', async ({
    skip,
    annotate,
  }) => {
    needsNode(skip);
    await withWorkerLogs(riscv, async () => {
      const base = await servedSmallBase(ctx, ['linux/riscv64', 'linux/amd64']);
      const r = await ctx.target.exec(
        [
          ...['docker', 'buildx', 'build', '--builder', builder, '--progress', 'plain', '--no-cache'],
          ...['--build-arg', `BASE=${base.base}`],
          ...[
            '--platform',
            'linux/riscv64,linux/amd64',
            '--output',
            `type=local,dest=${dir}/out`,
            `${dir}/ctx`,
          ],
        ],
        { timeoutMs: 20 * 60_000, context: 'the multi-node build' },
      );
      const where = async (p: string) =>
        (await ctx.target.exec(['cat', `${dir}/out/${p}/where.txt`])).stdout.trim();
      const amd = await where('linux_amd64');
      const rv = await where('linux_riscv64');
      await annotate(`${base.note}; amd64: '${amd}'; riscv64: '${rv}'; ${(r.durationMs / 1000).toFixed(1)}s`);
      await benchNote(annotate, 'multi-platform build, riscv64 + native amd64 node', r.durationMs);
      expect(amd).toMatch(/^x86_64 vendor_id ?: ?\S+/);
      expect(rv).toMatch(/^riscv64 (isa|uarch) ?: ?\S+/);
    });
  });
});
