import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../helpers/errors.ts';
import { type RunResults, type Verdict, verdictExitCode } from '../../reports/model.ts';
import { SWEPT_FILE } from '../../reports/run-files.ts';
import { janitor } from '../docker/janitor.ts';
import { Lab, needsLab } from '../lab/lab.ts';
import { type Config, loadConfig } from '../plan/config.ts';
import { optionEnv } from '../plan/options.ts';
import { runEnvFor } from '../plan/run-env.ts';
import { openTarget, planEnv, planTarget, preflightFacts } from '../run/session.ts';
import { untilExit } from '../target/background-work.ts';
import { removeLeftLocalTempDirs } from '../target/local-temp.ts';
import { currentRunId } from '../target/resources.ts';
import { EXIT } from './help.ts';
import { say } from './say.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs vitest as a child in its own process group; SIGINT/SIGTERM are forwarded, then we clean up. */
function runVitest(args: string[], env: Record<string, string>, nice = 0): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: 'inherit',
      },
    );
    // Its workers inherit the priority. Same session, so same autogroup, as the lab's provisioning.
    if (nice && child.pid) setPriority(child.pid, nice);
    let interrupted = false;
    const forward = (signal: NodeJS.Signals) => {
      interrupted = true;
      say(`\n${signal}: stopping the run and cleaning up what it created ...`);
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(interrupted ? 130 : code === 0 ? EXIT.ok : signal ? 130 : EXIT.failed);
    });
  });
}

/** A vitest run and the verdict it reported, as one exit code. */
async function runAndVerdict(
  args: string[],
  env: Record<string, string>,
  reportDir: string,
  runId: string,
  nice = 0,
): Promise<number> {
  const code = await runVitest(args, env, nice);
  return Math.max(code, reportedExitCode(reportDir, runId));
}

/** The verdict the reporter wrote for this run: a run that ran nothing, or lacks a phase it asked for, fails. */
function reportedExitCode(reportDir: string, runId: string): number {
  try {
    const results = JSON.parse(readFileSync(join(reportDir, 'results.json'), 'utf8')) as RunResults & {
      verdict: Verdict;
    };
    if (results.runId !== runId) throw new Error('stale');
    if (results.verdict !== 'PASSED') say(`run: ${results.verdict}`);
    return verdictExitCode(results.verdict);
  } catch {
    say(`run: no report was written to ${reportDir}: the run did not complete`);
    return EXIT.failed;
  }
}

/**
 * On a machine whose lab is not running, the binaries the run will cross-compile (riscv64, and amd64 for
 * the multi-node and broken-binaries checks) are built while the lab starts: on a fresh machine both take
 * minutes, and the VM's provisioning leaves a host core mostly idle. A build that fails here is only
 * said: the check that needs it builds it again and fails with the evidence.
 */
async function startLabWhileBuilding(config: Config, lab: Lab): Promise<void> {
  const kind = config.target.kind;
  if (!(kind === 'lab' || (kind === 'auto' && needsLab())) || (await lab.running())) return;
  // What the phases asked for will build: riscv64 for any phase with a target, amd64 for multi-node.
  const goarchs = config.binaries
    ? []
    : [
        ...(config.phases.some((p) => p !== 'release-tracking') ? ['riscv64' as const] : []),
        ...(config.phases.includes('multiplatform') ? ['amd64' as const] : []),
      ];
  // One after another, at the lowest CPU priority: the lab's provisioning (one core, mostly) stays the
  // critical path, and the builds use what it leaves idle. The phases wait for the riscv64 build only:
  // the amd64 one is for the multi-node checks, in the last phase (measured on a fresh 2-core machine,
  // waiting for it held the phases back 3 minutes after the lab was up); the process waits for it
  // before it exits.
  const build = async (goarch: 'riscv64' | 'amd64') => {
    const { buildBinaries } = await import('../../build/binaries.ts');
    await buildBinaries({ ref: config.buildkitRef, goarch, background: true }).catch((err: unknown) =>
      say(
        `prepare: building the ${goarch} binaries failed (the checks that need them will say why): ${errorMessage(err)}`,
      ),
    );
  };
  const first = goarchs.includes('riscv64') ? build('riscv64') : Promise.resolve();
  untilExit(first.then(() => (goarchs.includes('amd64') ? build('amd64') : undefined)));
  await Promise.all([lab.up(), first]);
}

export async function run(config: Config, grep: string | undefined, requested: string[]): Promise<number> {
  const runId = currentRunId();
  const lab = new Lab(config.lab);
  const labWasRunning = (await lab.running()) !== undefined;
  await startLabWhileBuilding(config, lab);
  const plan = await planTarget(config);
  const facts = await preflightFacts(plan.config, say);
  const projects = [...plan.config.phases.flatMap((p) => ['--project', p]), ...(grep ? ['-t', grep] : [])];
  const code = await runVitest(projects, {
    ...planEnv(plan, facts),
    ...runEnvFor({ runId, phasesRequested: requested.join(','), ...(grep ? { grep } : {}) }),
  });
  const verdictCode = reportedExitCode(plan.config.reportDir, runId);
  if (!sweptByTeardown(plan.config.reportDir, runId)) await sweep(plan.config, runId);
  if (plan.origin === 'lab' && !labWasRunning && !config.lab.keep) await lab.down();
  return Math.max(code, verdictCode);
}

/** Whether the run's own teardown swept the target completely (a vitest that died did not). */
function sweptByTeardown(reportDir: string, runId: string): boolean {
  try {
    return JSON.parse(readFileSync(join(reportDir, SWEPT_FILE), 'utf8')).runId === runId;
  } catch {
    return false;
  }
}

/** The janitor for what the run left on the target, when its teardown did not get to it. */
async function sweep(config: Config, runId: string): Promise<void> {
  const cleanupTarget = openTarget(config, say);
  try {
    const report = await janitor(cleanupTarget, runId);
    removeLeftLocalTempDirs(runId);
    for (const f of report.failed) say(`janitor: could not remove ${f}`);
  } catch (err) {
    say(`janitor: ${errorMessage(err)}`);
  } finally {
    await cleanupTarget.close();
  }
}

/**
 * `npm test`: the suite's own tests that need no lab (`self`, reported to <report-dir>/self) while the
 * lab starts and the binaries build, then every phase against the target, as `run` does. A lab this
 * command started is shut down after it. Arguments go to one vitest run as given
 * (`npm test -- --project self-lab`).
 */
export async function testCommand(args: string[]): Promise<number> {
  const config = loadConfig();
  const lab = new Lab(config.lab);
  const labWasRunning = (await lab.running()) !== undefined;
  const runId = currentRunId();
  const stopLab = async () => {
    if (!labWasRunning && !config.lab.keep && (await lab.running())) {
      say('test: shutting down the lab this run started (BKA_LAB_KEEP=1 keeps it)');
      await lab.down();
    }
  };
  if (args.length > 0) {
    await startLabWhileBuilding(config, lab);
    const code = await runAndVerdict(args, runEnvFor({ runId, labOwner: 'cli' }), config.reportDir, runId);
    await stopLab();
    return code;
  }
  // The lab's start (minutes on a fresh machine) and the self tests (host-side) overlap.
  const starting = startLabWhileBuilding(config, lab).then(
    () => undefined,
    (err: unknown) => err,
  );
  const selfDir = join(config.reportDir, 'self');
  // Behind the lab's start (nice 10): a fresh lab is the critical path; self finishes well before it.
  const selfCode = await runAndVerdict(
    ['--project', 'self'],
    { ...runEnvFor({ runId }), [optionEnv('reportDir')]: selfDir },
    selfDir,
    runId,
    10,
  );
  if (selfCode === 130) {
    // Interrupted: not waiting minutes for the lab's start; what it started, `lab down` stops.
    if (!labWasRunning) say('test: interrupted while the lab was starting (npm run lab -- down stops it)');
    return selfCode;
  }
  const labError = await starting;
  try {
    if (labError) throw labError;
    return Math.max(selfCode, await run(config, undefined, [...config.phases]));
  } finally {
    await stopLab();
  }
}
