/**
 * Tests that run one at a time, in the order they are declared, inside a suite that runs side by side
 * with its siblings (`describe(name, { concurrent: true })` makes every test in it concurrent, and a
 * test's own `sequential` does not override that). vitest starts a concurrent group's tests in
 * declaration order, so a first-come lock keeps that order; a test left out (`--grep`) just never
 * queues. Its timeout covers the wait.
 */
import type { TestContext, test as vitestTest } from 'vitest';
import { Semaphore } from './semaphore.ts';

type Body = (context: TestContext) => Promise<void>;

export function ordered(test: typeof vitestTest, timeoutMs = 60 * 60_000) {
  const lock = new Semaphore(1);
  return (name: string, body: Body): void => {
    test(name, (context) => lock.use(() => body(context)), timeoutMs);
  };
}
