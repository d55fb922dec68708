/**
 * Resource names: phases of a run may run side by side, each in a process of its own with its own
 * tracker, so two phases asking for the same kind of resource must get different names, both of the
 * run (the janitor finds them by the run's prefix).
 */
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { NAME_PREFIX } from '../../harness/target/resources.ts';

const RESOURCES = new URL('../../harness/target/resources.ts', import.meta.url).href;
const LOCAL = new URL('../../harness/target/local-target.ts', import.meta.url).href;

/** The name a phase's tracker gives a kind, in a process of its own (as a vitest worker is). */
async function nameInProcess(runId: string, phase: string, kind: string): Promise<string> {
  const script = `
    const { ResourceTracker } = await import(${JSON.stringify(RESOURCES)});
    const { LocalTarget } = await import(${JSON.stringify(LOCAL)});
    console.log(new ResourceTracker(new LocalTarget(), ${JSON.stringify(runId)}, ${JSON.stringify(phase)}).name(${JSON.stringify(kind)}));
    process.exit(0);`;
  const r = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  return r.stdout.trim();
}

describe('resource names', () => {
  test("two phases' processes never give the same name for the same kind, and both are the run's", async () => {
    const runId = `names-${process.pid}`;
    const [a, b] = await Promise.all([
      nameInProcess(runId, 'binaries', 'buildkitd'),
      nameInProcess(runId, 'container', 'buildkitd'),
    ]);
    expect(a).not.toBe(b);
    for (const n of [a, b]) expect(n.startsWith(`${NAME_PREFIX}-${runId}-`)).toBe(true);
  });
});
