import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { errorMessage } from '../../helpers/errors.ts';
import { redact } from '../../helpers/redact.ts';
import { RUN_CONTEXT_FILE, SETUP_ERROR_FILE, SWEPT_FILE } from '../../reports/run-files.ts';
import { factsAsProperties, type TargetFacts } from '../docker/facts.ts';
import { janitor } from '../docker/janitor.ts';
import { Lab } from '../lab/lab.ts';
import { loadConfig } from '../plan/config.ts';
import { reportDirFromEnv } from '../plan/options.ts';
import { runEnv } from '../plan/run-env.ts';
import { removeLeftLocalTempDirs } from '../target/local-temp.ts';
import { currentRunId } from '../target/resources.ts';
import { buildLabel } from './build-label.ts';
import { handedPlan } from './handover.ts';
import { openTarget, planEnv, planTarget, preflightFacts, type TargetPlan } from './session.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    facts: TargetFacts;
    buildMode: string;
    origin: 'local' | 'ssh' | 'lab';
    /** The phase (project) a test file belongs to: what its resources are named by. */
    phase: string;
  }
}

interface Session {
  plan: TargetPlan;
  facts: TargetFacts;
  startedLab: boolean;
  users: number;
}

// globalThis, not module scope: every phase project runs this file, maybe as separate module instances.
const KEY = Symbol.for('buildkit-acceptance.session');
const store = globalThis as unknown as Record<symbol, Promise<Session> | undefined>;

/** Which Debian index the lab was provisioned from and why, and its Docker: every report of a lab run says it. */
async function labIndexProperty(lab: Lab): Promise<Record<string, string>> {
  const index = await lab.debianIndex();
  const docker = { 'lab.docker': `${lab.dockerFlavour.name}: ${lab.dockerFlavour.proves}` };
  return index
    ? { ...docker, 'lab.debian-index': `${index.mirror} dists/${index.name}: ${index.reason}` }
    : docker;
}

async function start(): Promise<Session> {
  const runId = currentRunId();
  const handed = handedPlan();
  // Parsed here only when no parent (the CLI) resolved the plan and handed it down.
  const config = handed?.config ?? loadConfig();
  const lab = new Lab(config.lab);
  // The lab's lifetime has one owner: the CLI command that runs vitest (it hands down a plan, or says
  // BKA_LAB_OWNER=cli), or else this setup, when it started the lab itself.
  const wasRunning = (await lab.running()) !== undefined;
  const plan = await planTarget(config);
  const startedLab = !handed && runEnv('labOwner') !== 'cli' && plan.origin === 'lab' && !wasRunning;
  // Preflight only when no parent (the CLI) ran it and handed the facts over.
  const facts = handed?.facts ?? (await preflightFacts(plan.config, (l) => process.stderr.write(`${l}\n`)));
  // Workers inherit this environment: they open the same concrete target, with the same facts.
  if (!handed) Object.assign(process.env, planEnv(plan, facts));
  const properties = {
    'run.id': runId,
    'run.target-origin': plan.origin,
    'run.build': buildLabel(plan.buildMode, plan.config.binaries),
    'run.buildkit-ref': plan.config.buildkitRef,
    ...(plan.config.registryMirror ? { 'run.registry-mirror': plan.config.registryMirror } : {}),
    ...factsAsProperties(facts),
    ...(plan.origin === 'lab' ? await labIndexProperty(lab) : {}),
  };
  mkdirSync(plan.config.reportDir, { recursive: true });
  writeFileSync(
    join(plan.config.reportDir, RUN_CONTEXT_FILE),
    `${JSON.stringify({ runId, properties, facts }, null, 2)}\n`,
  );
  return { plan, facts, startedLab, users: 0 };
}

/** The setup's failure, where the reporter finds it: the run is then FAILED with this reason, not empty. */
function recordFailure(err: unknown): never {
  const dir = reportDirFromEnv();
  mkdirSync(dir, { recursive: true });
  const record = { runId: currentRunId(), error: redact(errorMessage(err)) };
  writeFileSync(join(dir, SETUP_ERROR_FILE), `${JSON.stringify(record, null, 2)}\n`);
  throw err;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  store[KEY] ??= start().catch(recordFailure);
  const session = await store[KEY];
  session.users++;
  project.provide('facts', session.facts);
  project.provide('buildMode', session.plan.buildMode);
  project.provide('origin', session.plan.origin);
  project.provide('phase', project.name);
  return async () => {
    session.users--;
    if (session.users > 0) return;
    const target = openTarget(session.plan.config);
    try {
      const report = await janitor(target, currentRunId());
      // This machine's temp dirs of the run's workers (a fork ends without its exit hooks).
      report.removed.push(...removeLeftLocalTempDirs(currentRunId()));
      if (report.removed.length > 0)
        process.stderr.write(`janitor: removed what this run left: ${report.removed.join(', ')}\n`);
      for (const f of report.failed) process.stderr.write(`janitor: could not remove ${f}\n`);
      if (report.failed.length === 0)
        writeFileSync(
          join(session.plan.config.reportDir, SWEPT_FILE),
          `${JSON.stringify({ runId: currentRunId() })}\n`,
        );
    } finally {
      await target.close();
    }
    if (session.startedLab && !session.plan.config.lab.keep) await new Lab(session.plan.config.lab).down();
  };
}
