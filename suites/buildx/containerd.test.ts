/**
 * Phase 3a (#209, part): BuildKit's containerd worker sharing the target's containerd (warm-metal's
 * deployment), `worker=containerd`: the image under test, privileged, with the host's containerd
 * directories. What it builds must be containerd's own image, its layers kept once: in containerd's
 * content store and snapshots, not again in buildkitd's state. A runner that cannot reach containerd's
 * socket skips with the exact reason (facts: `target.containerd-socket`).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { usePhase } from '../../harness/run/phase-context.ts';
import { useWorker, workerName } from '../../harness/sandbox/sandbox.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { imageUnderTest } from '../../harness/subjects/image-under-test.ts';
import { copiesInState, STATE_SCAN } from '../../helpers/state-copies.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/buildx/export/Dockerfile', import.meta.url));
const SNAPSHOTS = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';
const ctx = usePhase();
let dir: string;

/** The running check needs the containerd worker: skipped with the facts' exact cause when it is missing. */
const worker = useWorker(ctx, 'containerd', {
  feature: 'containerd',
  prepare: async () => {
    dir = await ctx.resources.tempDir('containerd-phase');
    await ctx.target.upload(FIXTURE, `${dir}/export/Dockerfile`);
  },
  options: async () => ({ image: await imageUnderTest(ctx) }),
});
const containerd = worker.get;

interface Manifest {
  mediaType?: string;
  manifests?: Array<{ digest: string; platform?: { architecture: string } }>;
  layers?: Array<{ digest: string }>;
}

describe(workerName('containerd'), { tags: [SERVES.extended] }, () => {
  test("its worker executes through the target's containerd, in a namespace of its own", async ({
    skip,
    annotate,
  }) => {
    const w = containerd(skip);
    const labels = worker.info()?.labels ?? {};
    await annotate(
      `executor ${labels['org.mobyproject.buildkit.worker.executor']}, snapshotter ${labels['org.mobyproject.buildkit.worker.snapshotter']}, namespace ${labels['org.mobyproject.buildkit.worker.containerd.namespace']}`,
    );
    expect(labels['org.mobyproject.buildkit.worker.executor'], JSON.stringify(labels)).toBe('containerd');
    expect(labels['org.mobyproject.buildkit.worker.containerd.namespace']).toBe(w.namespace);
    const namespaces = await w.asRoot('ctr namespaces ls -q');
    expect(namespaces.stdout.split('\n')).toContain(w.namespace);
  });

  test("an image it builds is in containerd's image store, its layers kept once: in containerd, not in buildkitd's state", async ({
    skip,
    annotate,
  }) => {
    const w = containerd(skip);
    await withWorkerLogs(w, async () => {
      const mark = `bka-${ctx.resources.runId}-containerd`;
      const ref = `docker.io/library/bka-containerd-probe:${ctx.resources.runId}`;
      await w.buildctl(
        [
          ...['build', '--frontend', 'dockerfile.v0', '--local', `context=${dir}/export`],
          ...['--local', `dockerfile=${dir}/export`, '--opt', `build-arg:MARK=${mark}`],
          ...['--output', `type=image,name=${ref}`],
        ],
        { timeoutMs: 15 * 60_000, context: 'a build on the containerd worker' },
      );
      // containerd's own view: the image, its manifest and each layer in its content store.
      const images = (await w.ctr(['images', 'ls'])).stdout;
      const row = images.split('\n').find((l) => l.startsWith(`${ref} `));
      expect(row, `ctr -n ${w.namespace} images ls:\n${images}`).toBeDefined();
      let digest = row!.trim().split(/\s+/)[2]!;
      const read = async (d: string) => JSON.parse((await w.ctr(['content', 'get', d])).stdout) as Manifest;
      let manifest = await read(digest);
      if (manifest.manifests) {
        digest = manifest.manifests.find((m) => m.platform?.architecture === 'riscv64')?.digest ?? '';
        expect(digest, 'a riscv64 manifest in the index').not.toBe('');
        manifest = await read(digest);
      }
      const layers = (manifest.layers ?? []).map((l) => l.digest);
      expect(layers.length).toBeGreaterThan(0);
      const content = (await w.ctr(['content', 'ls', '-q'])).stdout.split('\n');
      for (const layer of layers) expect(content, `${layer} in containerd's content store`).toContain(layer);
      const file = await w.asRoot('ctr -n "$1" content get "$2" | tar -xzOf - mark.txt', [
        w.namespace,
        layers.at(-1)!,
      ]);
      expect(file.stdout).toBe(`${mark} riscv64\n`);
      // Once: the file the build wrote is in containerd's snapshots; buildkitd's state holds neither
      // it nor any blob of the image's layers.
      const wrote = `${mark} riscv64`;
      const inSnapshots = await w.asRoot('grep -rlF -- "$1" "$2" || true', [wrote, SNAPSHOTS], {
        timeoutMs: 120_000,
      });
      const inState = await w.asRoot(STATE_SCAN, [wrote, w.stateDir], { timeoutMs: 120_000 });
      const stateLines = inState.stdout.split('\n').filter(Boolean);
      const copies = copiesInState(inState.stdout, layers);
      await annotate(
        `${ref} ${digest}: ${layers.length} layer(s) in containerd's content; the file in ${inSnapshots.stdout.trim().split('\n').length} snapshot path(s); ${stateLines.length} file(s) in buildkitd's state, ${copies.length} of them a copy`,
      );
      expect(inSnapshots.stdout.trim(), `the file ${wrote} in ${SNAPSHOTS}`).not.toBe('');
      expect(copies, `copies of the image in buildkitd's state ${w.stateDir}`).toEqual([]);
    });
  });
});
