/**
 * A test file's resource cleanup that runs after everything else of the file, also on failure. It
 * wraps the file (`aroundAll`) rather than being one more afterAll hook: vitest stops a file's afterAll
 * hooks at the first that throws, so a cleanup registered as one would be skipped when another hook
 * (a worker's stop, say) fails, and what the file made would stay on the target until the janitor.
 * Fails the file with every removal that failed.
 */
import { aroundAll } from 'vitest';
import type { ResourceTracker } from './resources.ts';

export function cleanUpAfterFile(resources: ResourceTracker, timeoutMs = 300_000): void {
  aroundAll(async (runFile) => {
    let error: unknown;
    try {
      await runFile();
    } catch (e) {
      error = e;
    }
    const failures = await resources.cleanup();
    if (error) throw error;
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  }, timeoutMs);
}
