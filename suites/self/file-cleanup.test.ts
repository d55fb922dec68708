/**
 * A phase file's cleanup runs after its afterAll hooks, also when one of them throws (vitest stops a
 * file's afterAll hooks at the first that throws): a real vitest run of a case file whose afterAll
 * fails; what its test made must be gone, removed by the file's cleanup (not later, by the interrupt
 * handler when vitest stops the worker), and the run must still fail with the hook's error.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('file cleanup', () => {
  test("what a file made is removed when one of its afterAll hooks throws, and the file fails with the hook's error", async () => {
    const out = await mkdtemp(join(tmpdir(), 'bka-self-file-cleanup-'));
    try {
      const run = await execa(
        process.execPath,
        [
          join(root, 'node_modules/vitest/vitest.mjs'),
          'run',
          '--config',
          'suites/self/fixtures/file-cleanup/vitest.config.ts',
        ],
        {
          cwd: root,
          env: { SELF_CASE_RUN: `self-cleanup-${process.pid}`, SELF_CASE_OUT: join(out, 'dir') },
          reject: false,
          all: true,
          timeout: 60_000,
        },
      );
      expect(run.exitCode, run.all).not.toBe(0);
      expect(run.all).toContain('namespaces not empty');
      const made = (await readFile(join(out, 'dir'), 'utf8')).trim();
      expect(made, run.all).toMatch(/^\/tmp\/bka-self-cleanup-\d+-self-case\./);
      expect(existsSync(made), `${made} is still there`).toBe(false);
      // Removed by the file's own cleanup, not by the interrupt handler when vitest stopped its worker
      // (best effort, bounded, and what left things behind for the janitor).
      expect(run.all).not.toMatch(/resource\(s\) this run still holds/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
