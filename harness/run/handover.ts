/**
 * The one hand-over of a run: the CLI (or the global setup, when vitest is run directly) resolves the
 * config, the concrete target and its facts once, and serialises that plan whole into one variable;
 * every vitest worker reads it back instead of parsing the config, resolving the target or probing the
 * facts again. Nothing is mirrored field by field, so a new config field cannot be forgotten on the way.
 */

import type { TargetFacts } from '../docker/facts.ts';
import type { Config } from '../plan/config.ts';
import { optionEnv } from '../plan/options.ts';
import { runEnv, runEnvFor } from '../plan/run-env.ts';

export interface HandedPlan {
  config: Config;
  origin: 'local' | 'ssh' | 'lab';
  buildMode: 'native' | 'cross-compiled' | 'cross-compiled (lab)';
  /** Set once preflight ran: the global setup then does not probe again. */
  facts?: TargetFacts;
}

let parsed: HandedPlan | undefined;

/**
 * The plan a vitest worker runs with: its parent's (the CLI's, or the global setup's when vitest runs
 * directly). A worker never parses the config itself.
 */
export function readPlan(): HandedPlan {
  const plan = handedPlan();
  if (!plan)
    throw new Error(
      'no run plan was handed to this process: phases run through `buildkit-acceptance run`/`npm test`, or vitest with the global setup',
    );
  return plan;
}

/** The plan handed to this process, or undefined when it is the first to resolve one. */
export function handedPlan(): HandedPlan | undefined {
  const raw = runEnv('plan');
  if (!raw) return undefined;
  parsed ??= JSON.parse(raw) as HandedPlan;
  return parsed;
}

/**
 * The environment a child (vitest, its workers) needs: the plan, and the reporter's directory (the
 * reporter runs before any plan exists). A handed plan also means its parent owns the lab's lifetime.
 */
export function handOver(plan: HandedPlan): Record<string, string> {
  return {
    ...runEnvFor({ plan: JSON.stringify(plan) }),
    [optionEnv('reportDir')]: plan.config.reportDir,
  };
}

/**
 * For a process that starts a run of its own (a self test spawning the CLI or vitest): it must resolve
 * its own plan, never inherit this run's.
 */
export const FRESH_RUN_ENV: Record<string, string> = runEnvFor({ plan: '', labOwner: '', runId: '' });
