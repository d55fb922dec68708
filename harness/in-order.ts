/**
 * Tests that run one at a time, in the order they are declared, inside a suite that runs side by side
 * with its siblings (`describe(name, { concurrent: true })` makes every test in it concurrent, and a
 * test's own `sequential` does not override that). Each test waits for the one declared before it.
 * Its timeout covers the wait.
 */
import type { TestContext, test as vitestTest } from 'vitest';

type Body = (context: TestContext) => Promise<void>;

export function ordered(test: typeof vitestTest, timeoutMs = 60 * 60_000) {
  let previous: Promise<void> = Promise.resolve();
  return (name: string, body: Body): void => {
    const before = previous;
    let finish: () => void = () => {};
    previous = new Promise<void>((resolve) => {
      finish = resolve;
    });
    test(
      name,
      async (context) => {
        await before;
        try {
          await body(context);
        } finally {
          finish();
        }
      },
      timeoutMs,
    );
  };
}
