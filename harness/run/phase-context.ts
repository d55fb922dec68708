import { inject } from 'vitest';
import type { TargetFacts } from '../docker/facts.ts';
import type { Config } from '../plan/config.ts';
import { cleanUpAfterFile } from '../target/file-cleanup.ts';
import { ResourceTracker } from '../target/resources.ts';
import type { Target } from '../target/target.ts';
import { readPlan } from './handover.ts';
import { openTarget } from './session.ts';

/**
 * What a phase test file gets: the target (one connection per worker, shared by every file it runs),
 * the config, the target facts, and a resource tracker whose cleanup runs after the file, also on
 * failure, also when one of the file's afterAll hooks throws (file-cleanup.ts). A test body does not
 * know whether the target is the lab, a board or this machine.
 */
export interface PhaseContext {
  target: Target;
  config: Config;
  facts: TargetFacts;
  buildMode: string;
  /** Where the target came from: this machine, a host over SSH, or the lab. */
  origin: 'local' | 'ssh' | 'lab';
  resources: ResourceTracker;
}

const KEY = Symbol.for('buildkit-acceptance.worker-target');
const store = globalThis as unknown as Record<symbol, { target: Target; config: Config } | undefined>;

function sharedTarget(): { target: Target; config: Config } {
  let entry = store[KEY];
  if (!entry) {
    const { config } = readPlan();
    const target = openTarget(config, (line) => process.stderr.write(`${line}\n`));
    entry = { target, config };
    store[KEY] = entry;
    const close = () => void target.close();
    process.once('beforeExit', close);
  }
  return entry;
}

export function usePhase(): PhaseContext {
  const { target, config } = sharedTarget();
  const resources = new ResourceTracker(target, undefined, inject('phase'));
  cleanUpAfterFile(resources);
  return {
    target,
    config,
    facts: inject('facts'),
    buildMode: inject('buildMode'),
    origin: inject('origin'),
    resources,
  };
}
