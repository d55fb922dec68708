import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type {
  Reporter,
  SerializedError,
  TestCase,
  TestModule,
  TestRunEndReason,
  TestSuite,
  Vitest,
} from 'vitest/node';
import { PHASES } from '../harness/plan/config.ts';
import { reportDirFromEnv } from '../harness/plan/options.ts';
import { runEnv } from '../harness/plan/run-env.ts';
import { redact } from '../helpers/redact.ts';
import { servedBy } from '../helpers/tracking-issue.ts';
import { appendHistory, benchmarksOf, historyEntry, readHistory } from './history.ts';
import { toHtml } from './html.ts';
import { toJUnit } from './junit.ts';
import { toMarkdown } from './markdown.ts';
import { notImplementedPhase, type PhaseResult, type RunResults, type TestResult, verdict } from './model.ts';
import { RUN_CONTEXT_FILE, SETUP_ERROR_FILE } from './run-files.ts';

function behaviourName(test: TestCase, phase: string): string {
  const suites = test.parent.type === 'suite' ? suitePath(test.parent) : [];
  return [phase, ...suites, test.name].join(' › ');
}

function toTestResult(test: TestCase, phase: string, root: string): TestResult {
  const result = test.result();
  const { serves } = servedBy(test.tags);
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
    ...(serves ? { serves } : {}),
  };
  if (result.state === 'failed') {
    const errors = result.errors ?? [];
    const first = errors[0];
    base.message = headline(first);
    base.details = errors.map((e) => errorText(e)).join('\n\n');
    base.errorType = errorType(first);
  } else if (result.state === 'skipped') {
    const grep = runEnv('grep');
    base.skipReason =
      result.note ??
      (test.options.mode === 'todo'
        ? 'not written yet (todo)'
        : grep && !selectedByGrep(test, grep)
          ? `not selected (--grep ${grep})`
          : undefined);
  }
  return base;
}

/**
 * Whether --grep selected the test, as vitest's testNamePattern does (the suite names and the test's,
 * joined by spaces): a selected test that was skipped was kept from running by its setup, not by --grep.
 */
function selectedByGrep(test: TestCase, grep: string): boolean {
  const names: string[] = [test.name];
  for (let p = test.parent; p.type === 'suite'; p = p.parent) names.unshift(p.name);
  try {
    return new RegExp(grep).test(names.join(' '));
  } catch {
    return names.join(' ').includes(grep);
  }
}

/** AssertionError for a failed expectation; otherwise the error's own name (CommandError, PollTimeoutError...). */
function errorType(e: SerializedError | undefined): string {
  const name = (e as { name?: string } | undefined)?.name ?? 'Error';
  return /AssertionError/.test(name) ? 'AssertionError' : name;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

function suitePath(suite: TestSuite): string[] {
  const names: string[] = [];
  let node: TestSuite | TestModule = suite;
  while (node.type === 'suite') {
    names.unshift(node.name);
    node = node.parent;
  }
  return names;
}

/** An assertion's diff, uncoloured: for `expect(problems).toEqual([])`, the problems themselves. */
function diffOf(e: object): string {
  const diff = (e as { diff?: unknown }).diff;
  return typeof diff === 'string' ? stripVTControlCharacters(diff).trim() : '';
}

/** The first entry the assertion received that was not expected (`+   "..."`), unquoted. */
export function firstReceived(diff: string): string | undefined {
  const line = diff
    .split('\n')
    .map((l) => /^\+ {2,}(.+?),?$/.exec(l)?.[1])
    .find(Boolean);
  if (!line) return undefined;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'string' ? v : line;
  } catch {
    return line;
  }
}

/** The failure's headline: the assertion's message and, where it received problems, the first of them. */
function headline(e: SerializedError | undefined): string {
  const message = firstLine(e?.message ?? 'failed');
  const received = e ? firstReceived(diffOf(e)) : undefined;
  return received ? `${message}: ${received}` : message;
}

function errorText(e: SerializedError | { message?: string; stack?: string; diff?: unknown }): string {
  const message = e.message ?? '';
  const diff = diffOf(e);
  const stack = (e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 4)
    .join('\n');
  return [message, diff, stack].filter(Boolean).join('\n');
}

export function collectResults(
  modules: ReadonlyArray<TestModule>,
  errors: ReadonlyArray<SerializedError>,
  startedAt: Date,
  properties: Record<string, string>,
  root = process.cwd(),
): RunResults {
  const phases = new Map<string, PhaseResult>();
  const undeclared: string[] = [];
  for (const mod of modules) {
    const phase = mod.project.name || 'default';
    let entry = phases.get(phase);
    if (!entry) {
      entry = { name: phase, durationMs: 0, tests: [] };
      phases.set(phase, entry);
    }
    entry.durationMs += mod.diagnostic().duration;
    const results = new Map<TestCase, TestResult>();
    for (const test of mod.children.allTests()) {
      results.set(test, toTestResult(test, phase, root));
      // Every phase's check says which tracking issue's acceptance it serves (the closer goes by it).
      const { problem } = servedBy(test.tags);
      if (problem && (PHASES as readonly string[]).includes(phase))
        undeclared.push(`${behaviourName(test, phase)} ${problem}`);
    }
    for (const holder of [mod, ...mod.children.allSuites()]) {
      const holderErrors = holder.errors();
      if (holderErrors.length === 0) continue;
      const first = firstLine(holderErrors[0]?.message ?? 'failed');
      const details = holderErrors.map(errorText).join('\n\n');
      // A check kept from running by its setup's failure is a failed check, never a silent skip.
      const blocked = [...holder.children.allTests()].filter(
        (t) => results.get(t)?.state === 'skipped' && !results.get(t)?.skipReason,
      );
      for (const test of blocked) {
        const r = results.get(test)!;
        r.state = 'failed';
        r.message = `not run: its setup failed: ${first}`;
        r.details = details;
        r.errorType = errorType(holderErrors[0]);
        delete r.skipReason;
      }
      if (blocked.length === 0) {
        // Nothing was kept from running (a failed afterAll, a module that did not load): its own entry.
        const where = holder.type === 'module' ? [] : suitePath(holder);
        const what = holder.type === 'module' && mod.children.size === 0 ? 'loads' : 'sets up and cleans up';
        entry.tests.push({
          name: [phase, ...where, `${relative(root, mod.moduleId)} ${what}`].join(' › '),
          file: relative(root, mod.moduleId),
          state: 'failed',
          durationMs: 0,
          message: first,
          details,
          errorType: errorType(holderErrors[0]),
          retries: 0,
          flaky: false,
          notes: [],
        });
      }
    }
    entry.tests.push(...results.values());
  }
  return {
    runId: runEnv('runId') ?? 'unknown',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    properties,
    phases: [...phases.values()],
    errors: [...errors.map(errorText), ...undeclared],
  };
}

/**
 * Writes junit.xml, summary.md and results.json to the report dir, appends the summary to
 * $GITHUB_STEP_SUMMARY, and prints it at the end. Quiet on success beyond the table.
 */
export default class AcceptanceReporter implements Reporter {
  private startedAt = new Date();
  private selected: string[] = [];
  constructor(private readonly options: { reportDir?: string } = {}) {}

  onInit(vitest: Vitest): void {
    this.selected = vitest.projects.map((p) => p.name);
  }

  /** A file of this run (same run id) from the report dir, or undefined (absent, stale, unreadable). */
  private runFile<T>(name: string): T | undefined {
    try {
      const data = JSON.parse(readFileSync(join(this.reportDir, name), 'utf8')) as T & { runId?: string };
      return data.runId === (runEnv('runId') ?? 'unknown') ? data : undefined;
    } catch {
      return undefined;
    }
  }

  get reportDir(): string {
    return this.options.reportDir ?? reportDirFromEnv();
  }

  onTestRunStart(): void {
    this.startedAt = new Date();
  }

  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    errors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    // A run without a target (the self project alone) has no context.
    const context = this.runFile<{ properties?: Record<string, string> }>(RUN_CONTEXT_FILE);
    const properties: Record<string, string> = { ...(context?.properties ?? {}), 'run.end-reason': reason };
    const results = collectResults(modules, errors, this.startedAt, properties);
    // A failed global setup (lab, preflight) runs no module: its reason and evidence are the run's error.
    const setupError = this.runFile<{ error: string }>(SETUP_ERROR_FILE);
    if (setupError) results.errors.unshift(`the run's setup failed: ${setupError.error}`);
    const requested = (runEnv('phasesRequested') ?? '').split(',').filter(Boolean);
    for (const name of this.selected) {
      if (name.startsWith('self') || results.phases.some((p) => p.name === name)) continue;
      if (setupError) continue; // nothing ran: the setup's error says why
      results.phases.push(notImplementedPhase(name, requested.includes(name)));
    }
    mkdirSync(this.reportDir, { recursive: true });
    writeFileSync(join(this.reportDir, 'junit.xml'), toJUnit(results));
    writeFileSync(
      join(this.reportDir, 'results.json'),
      redact(
        `${JSON.stringify({ verdict: verdict(results), benchmarks: benchmarksOf(results), ...results }, null, 2)}\n`,
      ),
    );
    if (context) {
      // A run against a target joins the history, and the HTML report plots it.
      const historyFile = runEnv('historyFile') ?? join(this.reportDir, 'history.jsonl');
      appendHistory(historyFile, historyEntry(results));
      writeFileSync(join(this.reportDir, 'report.html'), redact(toHtml(readHistory(historyFile), results)));
    }
    const md = toMarkdown(results);
    writeFileSync(join(this.reportDir, 'summary.md'), md);
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, md);
    process.stdout.write(
      `\n${md}\nReports: ${relative(process.cwd(), this.reportDir) || '.'}/{junit.xml,summary.md,results.json${context ? ',report.html' : ''}}\n`,
    );
  }
}
