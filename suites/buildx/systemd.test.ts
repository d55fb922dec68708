/**
 * Phase 3a (#209, part): buildkitd as a systemd service, as pl4nty installs it (`worker=systemd`):
 * Type=notify, TCP with mTLS, the GC's keep-storage raised, installed within the runner's rights.
 * Phase 1's binaries run as the service; Buildx reaches it as a remote builder.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { usePhase } from '../../harness/run/phase-context.ts';
import { missingFeature, requireFeature } from '../../harness/sandbox/features.ts';
import { remoteTlsOpts, startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { certsOnTarget } from '../../harness/sandbox/target-certs.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { binariesUnderTest } from '../../harness/subjects/binaries-under-test.ts';
import { formatEvidence } from '../../helpers/command-result.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/buildx/export/Dockerfile', import.meta.url));
/** Not BuildKit's default for any disk: the policy can only show it if the flag took effect. */
const KEEP_STORAGE_MB = 7777;
const ctx = usePhase();
let worker: WorkerOf<'systemd'>;
let dir: string;
let certs: string;

beforeAll(async () => {
  if (missingFeature(ctx.facts, 'systemd')) return;
  const bins = await binariesUnderTest(ctx);
  dir = await ctx.resources.tempDir('systemd-phase');
  certs = await certsOnTarget(ctx.target, ctx.resources);
  await ctx.target.upload(FIXTURE, `${dir}/export/Dockerfile`);
  worker = await startWorker(ctx, 'systemd', {
    binaries: bins,
    certsDir: certs,
    keepStorageMb: KEEP_STORAGE_MB,
  });
});

afterAll(async () => {
  await worker?.remove();
});

/** buildctl build of the export fixture into a local directory; returns what /mark.txt holds. */
async function buildMark(mark: string, out: string): Promise<string> {
  await worker.buildctl(
    [
      ...['build', '--frontend', 'dockerfile.v0', '--local', `context=${dir}/export`],
      ...['--local', `dockerfile=${dir}/export`, '--opt', `build-arg:MARK=${mark}`],
      ...['--output', `type=local,dest=${out}`],
    ],
    { timeoutMs: 15 * 60_000, context: 'buildctl build on the systemd service' },
  );
  return (await ctx.target.exec(['cat', `${out}/mark.txt`])).stdout;
}

/** The running check needs the systemd worker: skipped with the facts' exact cause. */
function needsSystemd(skip: (note: string) => void): void {
  requireFeature(skip, ctx.facts, 'systemd');
}

describe(workerName('systemd'), { tags: [SERVES['#209']] }, () => {
  test('systemctl start returns only after READY: the first buildctl call right after it succeeds', async ({
    annotate,
    skip,
  }) => {
    needsSystemd(skip);
    await withWorkerLogs(worker, async () => {
      await worker.systemctl(['start', worker.unit]);
      const first = await worker.buildctl(['debug', 'workers'], { reject: false });
      const unit = await worker.show('Type', 'ActiveState', 'SubState', 'MainPID');
      await annotate(`installed as ${worker.how}; ${JSON.stringify(unit)}`);
      expect(unit.Type).toBe('notify');
      expect(`${unit.ActiveState}/${unit.SubState}`).toBe('active/running');
      expect(first.failed, `the first buildctl call after systemctl start:\n${formatEvidence(first)}`).toBe(
        false,
      );
    });
  });

  test(`the raised GC keep-storage (${KEEP_STORAGE_MB} MB) is the reserved space of its GC policy`, async ({
    annotate,
    skip,
  }) => {
    needsSystemd(skip);
    await withWorkerLogs(worker, async () => {
      const out = (await worker.buildctl(['debug', 'workers', '--format', '{{json .}}'])).stdout;
      const [oci] = JSON.parse(out) as { gcPolicy?: { all: boolean; reservedSpace?: number }[] }[];
      const rules = oci?.gcPolicy ?? [];
      await annotate(`reserved space per rule: ${rules.map((r) => r.reservedSpace).join(', ')}`);
      const all = rules.find((r) => r.all);
      expect(all?.reservedSpace, `the catch-all GC rule of:\n${out}`).toBe(KEEP_STORAGE_MB * 1e6);
    });
  });

  test('survives systemctl restart: a new main PID answers at once, and its build cache is kept', async ({
    annotate,
    skip,
  }) => {
    needsSystemd(skip);
    await withWorkerLogs(worker, async () => {
      expect(await buildMark('before-restart', `${dir}/before`)).toBe('before-restart riscv64\n');
      const before = await worker.show('MainPID');
      await worker.systemctl(['restart', worker.unit]);
      const after = await worker.show('MainPID', 'ActiveState');
      const du = await worker.buildctl(['du'], { reject: false });
      await annotate(`MainPID ${before.MainPID} -> ${after.MainPID}; ${du.stdout.trim().split('\n').pop()}`);
      expect(after.MainPID).not.toBe(before.MainPID);
      expect(after.ActiveState).toBe('active');
      expect(du.failed, `the first buildctl call after systemctl restart:\n${formatEvidence(du)}`).toBe(
        false,
      );
      expect(du.stdout, 'the build cache did not survive the restart').not.toMatch(/Total:\s+0B?\s*$/m);
    });
  });

  test('a Buildx remote builder over mTLS builds on it', async ({ skip }) => {
    needsSystemd(skip);
    requireFeature(skip, ctx.facts, 'buildx');
    await withWorkerLogs(worker, async () => {
      const builder = ctx.resources.name('builder');
      ctx.resources.builder(builder);
      await ctx.target.exec(
        [
          ...['docker', 'buildx', 'create', '--name', builder, '--driver', 'remote'],
          ...['--driver-opt', remoteTlsOpts(certs, 'client'), worker.address, '--bootstrap'],
        ],
        { timeoutMs: 5 * 60_000 },
      );
      await ctx.target.exec(
        [
          ...['docker', 'buildx', 'build', '--builder', builder, '--progress', 'plain'],
          ...['--build-arg', 'MARK=via-buildx', '--output', `type=local,dest=${dir}/buildx`, `${dir}/export`],
        ],
        { timeoutMs: 15 * 60_000 },
      );
      expect((await ctx.target.exec(['cat', join(dir, 'buildx/mark.txt')])).stdout).toBe(
        'via-buildx riscv64\n',
      );
    });
  });
});
