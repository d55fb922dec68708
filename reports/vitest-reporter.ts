import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason } from 'vitest/node';
import { redact } from '../harness/redact.ts';
import { toJUnit } from './junit.ts';
import { toMarkdown } from './markdown.ts';
import type { PhaseResult, RunResults, TestResult } from './model.ts';

/** Where the run's context (target facts, build mode) is written by the global setup. */
export const RUN_CONTEXT_FILE = 'run-context.json';

function behaviourName(test: TestCase, phase: string): string {
  const names: string[] = [test.name];
  let parent = test.parent;
  while (parent.type === 'suite') {
    names.unshift(parent.name);
    parent = parent.parent;
  }
  return [phase, ...names].join(' › ');
}

function toTestResult(test: TestCase, phase: string, root: string): TestResult {
  const result = test.result();
  const diag = test.diagnostic();
  const notes = test.annotations().map((a) => `${a.type}: ${a.message}`);
  const base: TestResult = {
    name: behaviourName(test, phase),
    file: relative(root, test.module.moduleId),
    state: result.state === 'failed' ? 'failed' : result.state === 'passed' ? 'passed' : 'skipped',
    durationMs: Math.round(diag?.duration ?? 0),
    retries: diag?.retryCount ?? 0,
    flaky: diag?.flaky ?? false,
    notes,
  };
  if (result.state === 'failed') {
    const errors = result.errors ?? [];
    const first = errors[0];
    base.message = (first?.message ?? 'failed').split('\n')[0];
    base.details = errors.map((e) => errorText(e)).join('\n\n');
  } else if (result.state === 'skipped') {
    base.skipReason = result.note ?? (test.options.mode === 'todo' ? 'not written yet (todo)' : undefined);
  }
  return base;
}

function errorText(e: SerializedError | { message?: string; stack?: string }): string {
  const message = e.message ?? '';
  const stack = (e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 4)
    .join('\n');
  return stack ? `${message}\n${stack}` : message;
}

export function collectResults(
  modules: ReadonlyArray<TestModule>,
  errors: ReadonlyArray<SerializedError>,
  startedAt: Date,
  properties: Record<string, string>,
  root = process.cwd(),
): RunResults {
  const phases = new Map<string, PhaseResult>();
  for (const mod of modules) {
    const phase = mod.project.name || 'default';
    let entry = phases.get(phase);
    if (!entry) {
      entry = { name: phase, durationMs: 0, tests: [] };
      phases.set(phase, entry);
    }
    entry.durationMs += mod.diagnostic().duration;
    for (const test of mod.children.allTests()) entry.tests.push(toTestResult(test, phase, root));
    const moduleErrors = mod.errors();
    if (moduleErrors.length > 0 && mod.children.size === 0) {
      entry.tests.push({
        name: `${phase} › ${relative(root, mod.moduleId)} loads`,
        file: relative(root, mod.moduleId),
        state: 'failed',
        durationMs: 0,
        message: (moduleErrors[0]?.message ?? 'failed to load').split('\n')[0],
        details: moduleErrors.map(errorText).join('\n\n'),
        retries: 0,
        flaky: false,
        notes: [],
      });
    }
  }
  return {
    runId: process.env.BKA_RUN_ID ?? 'unknown',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    properties,
    phases: [...phases.values()],
    errors: errors.map(errorText),
  };
}

/**
 * Writes junit.xml, summary.md and results.json to the report dir, appends the summary to
 * $GITHUB_STEP_SUMMARY, and prints it at the end. Quiet on success beyond the table.
 */
export default class AcceptanceReporter implements Reporter {
  private startedAt = new Date();
  constructor(private readonly options: { reportDir?: string } = {}) {}

  get reportDir(): string {
    return this.options.reportDir ?? process.env.BKA_REPORT_DIR ?? join(process.cwd(), 'out', 'reports');
  }

  onTestRunStart(): void {
    this.startedAt = new Date();
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    errors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    let properties: Record<string, string> = {};
    try {
      properties = JSON.parse(readFileSync(join(this.reportDir, RUN_CONTEXT_FILE), 'utf8')).properties ?? {};
    } catch {
      // a run without a target (the self project alone) has no context
    }
    properties['run.end-reason'] = reason;
    const results = collectResults(modules, errors, this.startedAt, properties);
    mkdirSync(this.reportDir, { recursive: true });
    writeFileSync(join(this.reportDir, 'junit.xml'), toJUnit(results));
    writeFileSync(join(this.reportDir, 'results.json'), redact(`${JSON.stringify(results, null, 2)}\n`));
    const md = toMarkdown(results);
    writeFileSync(join(this.reportDir, 'summary.md'), md);
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, md);
    process.stdout.write(
      `\n${md}\nReports: ${relative(process.cwd(), this.reportDir) || '.'}/{junit.xml,summary.md,results.json}\n`,
    );
  }
}
