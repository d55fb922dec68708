/**
 * Phase 3b (#209, part): rootless BuildKit as the runner's user, with no sudo (`worker=rootless`):
 * phase 1's buildkitd under rootlesskit. A target that lacks a piece is skipped with the exact cause
 * (the phase is then INCOMPLETE, never green).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { usePhase } from '../../harness/run/phase-context.ts';
import { useWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { binariesUnderTest } from '../../harness/subjects/binaries-under-test.ts';
import { parsePs, processOwnerProblems, uidMapProblems } from '../../helpers/rootless-evidence.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/buildx/export/Dockerfile', import.meta.url));
const ctx = usePhase();
let dir: string;

/** The running check needs the rootless worker: skipped with the facts' exact cause when it is missing. */
const worker = useWorker(ctx, 'rootless', {
  feature: 'rootless',
  prepare: async () => {
    dir = await ctx.resources.tempDir('rootless-phase');
    await ctx.target.upload(FIXTURE, `${dir}/export/Dockerfile`);
  },
  options: async () => ({ binaries: await binariesUnderTest(ctx) }),
});
const rootless = worker.get;

/** The pids in the daemon's process group. */
async function daemonPids(w: WorkerOf<'rootless'>): Promise<string[]> {
  const r = await ctx.target.exec(['pgrep', '-g', String(w.pgid)]);
  return r.stdout.split('\n').filter(Boolean);
}

describe(workerName('rootless'), { tags: [SERVES['#209']] }, () => {
  test("every process of the daemon runs as the target's user, none as uid 0 on the host", async ({
    skip,
    annotate,
  }) => {
    const w = rootless(skip);
    await withWorkerLogs(w, async () => {
      const ps = await ctx.target.exec(['ps', '-o', 'uid=,pid=,comm=', '-g', String(w.pgid)]);
      const rows = parsePs(ps.stdout);
      await annotate(rows.map((r) => `${r.comm}(pid ${r.pid}) uid ${r.uid}`).join(', '));
      expect(processOwnerProblems(rows, ctx.facts.uid)).toEqual([]);
    });
  });

  test("the daemon's user namespace maps root to the user and the rest to the user's subuid range", async ({
    skip,
    annotate,
  }) => {
    const w = rootless(skip);
    await withWorkerLogs(w, async () => {
      const pid = (await ctx.target.exec(['pgrep', '-g', String(w.pgid), '-x', 'buildkitd'])).stdout.trim();
      const map = (await ctx.target.exec(['cat', `/proc/${pid}/uid_map`])).stdout.trim();
      const sub = (
        await ctx.target.exec(['sh', '-c', 'grep -E "^($(id -un)|$(id -u)):" /etc/subuid | head -n1'])
      ).stdout.trim();
      await annotate(`uid_map of buildkitd (pid ${pid}): ${map.replace(/\s+/g, ' ')}; /etc/subuid: ${sub}`);
      expect(uidMapProblems(map, sub, ctx.facts.uid)).toEqual([]);
      expect(await daemonPids(w)).toContain(pid);
    });
  });

  test('names its snapshotter (overlayfs on a kernel of 5.11 or later) and runs RUN steps in the process sandbox', async ({
    skip,
    annotate,
  }) => {
    const w = rootless(skip);
    await withWorkerLogs(w, async () => {
      const snapshotter = worker.info()?.labels['org.mobyproject.buildkit.worker.snapshotter'];
      const mode = worker.info()?.labels['org.mobyproject.buildkit.worker.oci.process-mode'];
      const [major = 0, minor = 0] = ctx.facts.kernel.split('.').map(Number);
      const overlayExpected = major > 5 || (major === 5 && minor >= 11);
      await annotate(
        `snapshotter ${snapshotter} on kernel ${ctx.facts.kernel}${overlayExpected ? '' : ' (older than 5.11: a fallback is expected)'}; process mode ${mode} (started without --oci-worker-no-process-sandbox)`,
      );
      if (overlayExpected) expect(snapshotter).toBe('overlayfs');
      else expect(snapshotter).toMatch(/^(fuse-overlayfs|native)$/);
      expect(mode, 'the OCI worker runs without its process sandbox').toBe('sandbox');
    });
  });

  test('a build with a RUN step succeeds, and the files it exports and its state on the host belong to the user', async ({
    skip,
  }) => {
    const w = rootless(skip);
    await withWorkerLogs(w, async () => {
      await w.buildctl(
        [
          ...['build', '--frontend', 'dockerfile.v0', '--local', `context=${dir}/export`],
          ...['--local', `dockerfile=${dir}/export`, '--opt', 'build-arg:MARK=rootless'],
          ...['--output', `type=local,dest=${dir}/out`],
        ],
        { timeoutMs: 15 * 60_000, context: 'a rootless build of the export fixture' },
      );
      expect((await ctx.target.exec(['cat', `${dir}/out/mark.txt`])).stdout).toBe('rootless riscv64\n');
      const owner = (await ctx.target.exec(['stat', '-c', '%u', `${dir}/out/mark.txt`])).stdout.trim();
      expect(Number(owner), 'the exported file is not owned by the user').toBe(ctx.facts.uid);
      // What the daemon wrote on the host belongs to the user too: its root inside is the user outside.
      const state = await ctx.target.exec(['find', w.stateDir, '-maxdepth', '2', '-printf', '%U %p\\n']);
      const foreign = state.stdout
        .split('\n')
        .filter(Boolean)
        .filter((l) => Number(l.split(' ')[0]) !== ctx.facts.uid);
      expect(foreign, `entries of the daemon's state not owned by uid ${ctx.facts.uid}`).toEqual([]);
    });
  });
});
