import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LocalTarget } from '../../harness/target/local-target.ts';
import { processGroupAlive, stopProcessGroup } from '../../harness/target/process-group.ts';
import { ResourceTracker } from '../../harness/target/resources.ts';
import { CommandError } from '../../helpers/command-result.ts';

describe('local target', () => {
  const target = new LocalTarget();

  test('returns stdout, stderr, exit code and duration for a successful command', async () => {
    const r = await target.exec(['sh', '-c', 'echo out; echo err >&2']);
    expect(r).toMatchObject({ exitCode: 0, failed: false, stdout: 'out\n', stderr: 'err\n', host: 'local' });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  test('does not treat stderr alone as failure', async () => {
    const r = await target.exec(['sh', '-c', 'echo warning >&2; exit 0']);
    expect(r.failed).toBe(false);
  });

  test('throws a CommandError whose first line names the exit code and the command', async () => {
    const err = await target.exec(['sh', '-c', 'echo boom >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const message = (err as CommandError).message;
    expect(message.split('\n')[0]).toBe(`Command failed with exit code 3: sh -c 'echo boom >&2; exit 3'`);
    expect(message).toContain('host: local');
    expect(message).toContain('boom');
    expect((err as CommandError).result.exitCode).toBe(3);
  });

  test('returns the failed result instead of throwing with reject: false', async () => {
    const r = await target.exec(['false'], { reject: false });
    expect(r).toMatchObject({ exitCode: 1, failed: true });
  });

  test('reports a signal that killed the command', async () => {
    const r = await target.exec(['sh', '-c', 'kill -TERM $$'], { reject: false });
    expect(r.signal).toBe('SIGTERM');
    expect(r.exitCode).toBeUndefined();
    expect(r.failed).toBe(true);
  });

  test('keeps the tail of large output within the bound', async () => {
    const r = await target.exec(['sh', '-c', 'seq 1 200000'], { maxOutputBytes: 4096 });
    expect(r.stdout.length).toBeLessThan(4200);
    expect(r.stdout).toMatch(/bytes dropped/);
    expect(r.stdout.trim().endsWith('200000')).toBe(true);
  });

  test('kills the whole process tree on timeout and says it timed out', async () => {
    const t0 = Date.now();
    // A duration no other process on this machine runs (pgrep -f matches any command line).
    const marker = `sleep 30.${process.pid}${Date.now() % 1000}`;
    const r = await target.exec(['sh', '-c', `${marker} & ${marker}; wait`], {
      timeoutMs: 500,
      reject: false,
    });
    expect(r.timedOut).toBe(true);
    // Well before the 30 s the commands would take, also on a machine busy with the lab's start.
    expect(Date.now() - t0).toBeLessThan(15_000);
    const err = new CommandError(r);
    expect(err.message).toMatch(/^Command timed out after/);
    const left = await target.exec(['pgrep', '-f', marker], { reject: false });
    expect(left.stdout.trim()).toBe('');
  });

  test('cancels a running command through an AbortSignal', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await target.exec(['sleep', '20'], { signal: ac.signal, reject: false });
    expect(r.isCanceled).toBe(true);
    expect(r.durationMs).toBeLessThan(15_000);
  });

  test('reports a command that does not exist as a failure with the reason', async () => {
    const r = await target.exec(['/nonexistent/tool', '--version'], { reject: false });
    expect(r.failed).toBe(true);
    expect(r.stderr).toMatch(/ENOENT|not found/);
  });

  test('passes standard input', async () => {
    const r = await target.exec(['cat'], { input: 'hello' });
    expect(r.stdout).toBe('hello');
  });

  test('tells a live process group from a gone one (a local target runs argv without a shell)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-pg-'));
    try {
      const { log, pgid } = await new ResourceTracker(target, undefined, 'self').background('sleeper', dir, [
        'sleep',
        '60',
      ]);
      expect(log).toBe(`${dir}/sleeper.log`);
      expect(await processGroupAlive(target, pgid), `group ${pgid} while its sleep runs`).toBe(true);
      await stopProcessGroup(target, pgid, 2);
      expect(await processGroupAlive(target, pgid), `group ${pgid} after it was stopped`).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
