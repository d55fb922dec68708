import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { janitor, leftovers } from '../../harness/docker/janitor.ts';
import { LocalTarget } from '../../harness/target/local-target.ts';
import { localTempDir, removeLeftLocalTempDirs } from '../../harness/target/local-temp.ts';
import { newRunId, RUN_LABEL } from '../../harness/target/resources.ts';
import { dockerdUnavailable, TestDockerd } from './fixtures/dockerd.ts';
import { testNeeding } from './fixtures/needs.ts';

const noDocker = dockerdUnavailable();

async function startInterruptedRun(
  runId: string,
  env: Record<string, string>,
): Promise<{ dir: string; scratch: string; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'suites/self/fixtures/interrupted-run.ts'], {
    env: { ...process.env, ...env, BKA_RUN_ID: runId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const deadline = Date.now() + 60_000;
  while (!out.includes('READY')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the run did not get ready: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const [dir, scratch] = out.split('READY ')[1]!.trim().split(' ') as [string, string];
  return { dir, scratch, child };
}

function exited(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.on('exit', (code) => r(code)),
  );
}

describe('cleanup', () => {
  const local = new LocalTarget();

  test('a run interrupted with SIGINT leaves no temp dir or process behind', async () => {
    const runId = newRunId();
    const { dir, scratch, child } = await startInterruptedRun(runId, {});
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(scratch)).toBe(true);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(130);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(scratch)).toBe(false);
    const left = await local.exec(['pgrep', '-f', `sleep 600.${child.pid}`], { reject: false });
    expect(left.stdout.trim()).toBe('');
  });

  testNeeding(noDocker)(
    'a run interrupted with SIGINT leaves no labelled container or volume behind',
    async () => {
      await using dockerd = await TestDockerd.start();
      await dockerd.importBusybox('bka-self/busybox:1');
      const runId = newRunId();
      const { child } = await startInterruptedRun(runId, { DOCKER_HOST: `unix://${dockerd.socketPath}` });
      const before = await dockerd.docker(['ps', '-aq', '--filter', `label=${RUN_LABEL}=${runId}`]);
      expect(before.stdout.trim()).not.toBe('');
      child.kill('SIGINT');
      expect(await exited(child)).toBe(130);
      const after = await dockerd.docker(['ps', '-aq', '--filter', `label=${RUN_LABEL}=${runId}`]);
      const volumes = await dockerd.docker(['volume', 'ls', '-q', '--filter', `label=${RUN_LABEL}=${runId}`]);
      expect(after.stdout.trim()).toBe('');
      expect(volumes.stdout.trim()).toBe('');
    },
    180_000,
  );

  test('the janitor removes what a killed run (SIGKILL, no cleanup) left behind, by label and name', async () => {
    const runId = newRunId();
    const { dir, scratch, child } = await startInterruptedRun(runId, {});
    child.kill('SIGKILL');
    await exited(child);
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(scratch)).toBe(true);
    expect(await leftovers(local, runId)).toEqual(expect.arrayContaining([dir, scratch]));
    const report = await janitor(local, runId);
    expect(await leftovers(local, runId)).toEqual([]);
    expect(report.removed).toContain(`temp dir ${dir}`);
    expect(report.removed).toContain(`temp dir ${scratch}`);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(scratch)).toBe(false);
    const left = await local.exec(['pgrep', '-f', `sleep 600.${child.pid}`], { reject: false });
    expect(left.stdout.trim()).toBe('');
  });

  test("the janitor's local sweep removes this machine's temp dirs of one run, and no other run's", async () => {
    const killed = newRunId();
    const other = newRunId();
    const left = await localTempDir('left-behind', killed);
    const kept = await localTempDir('still-in-use', other);
    expect(removeLeftLocalTempDirs(killed)).toEqual([`local temp dir ${left}`]);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(kept)).toBe(true);
  });
});
