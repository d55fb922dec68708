/** One run's results, independent of vitest: what the JUnit, Markdown and JSON reports are made from. */
export interface RunResults {
  runId: string;
  startedAt: string;
  durationMs: number;
  /** Run metadata and target facts, flat, for report properties. */
  properties: Record<string, string>;
  phases: PhaseResult[];
  /** Errors outside any test (setup failures, unhandled errors). */
  errors: string[];
}

export interface PhaseResult {
  name: string;
  durationMs: number;
  tests: TestResult[];
}

export type TestState = 'passed' | 'failed' | 'skipped';

export interface TestResult {
  /** Reads as behaviour: `container › /sbin/docker-init points to /usr/bin/tini`. */
  name: string;
  file: string;
  state: TestState;
  durationMs: number;
  /** One short line saying what failed. */
  message?: string;
  /** The evidence: command, host, exit code, output tails, daemon logs. */
  details?: string;
  skipReason?: string;
  retries: number;
  flaky: boolean;
  /** Notes the test attached (durations, sources, checksums). */
  notes: string[];
}

export function counts(tests: readonly TestResult[]): Record<TestState, number> {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const t of tests) c[t.state]++;
  return c;
}

export function allTests(results: RunResults): TestResult[] {
  return results.phases.flatMap((p) => p.tests);
}

export function runPassed(results: RunResults): boolean {
  return results.errors.length === 0 && allTests(results).every((t) => t.state !== 'failed');
}
