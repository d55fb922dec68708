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
  /** A phase that was selected but holds no checks: never green. */
  notImplemented?: boolean;
  /** Asked for by name (`--phase`): a phase with no checks then fails the run. */
  requested?: boolean;
}

/**
 * PASSED: every check ran and passed. INCOMPLETE: nothing failed, but a check was skipped or a phase
 * holds no checks. FAILED: a check failed, something failed outside a check, or a phase asked for by
 * name holds no checks. NOT RUN: nothing failed, and no check ran at all.
 */
export type Verdict = 'PASSED' | 'INCOMPLETE' | 'FAILED' | 'NOT RUN';

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
  /** What failed: `AssertionError` (an expectation), `CommandError` (a command on the target), or another error's name. */
  errorType?: string;
  skipReason?: string;
  /** The tracking issue the check serves (#207-#210), or `extended`; declared by its tag. */
  serves?: string;
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

export function verdict(results: RunResults): Verdict {
  const tests = allTests(results);
  if (
    results.errors.length > 0 ||
    tests.some((t) => t.state === 'failed') ||
    results.phases.some((p) => p.notImplemented && p.requested)
  )
    return 'FAILED';
  if (!tests.some((t) => t.state === 'passed')) return 'NOT RUN';
  if (tests.some((t) => t.state === 'skipped') || results.phases.some((p) => p.notImplemented))
    return 'INCOMPLETE';
  return 'PASSED';
}

/** A phase that holds no checks, as the reports show it: one entry, failed when asked for by name. */
export function notImplementedPhase(name: string, requested: boolean): PhaseResult {
  const reason = 'not implemented: the phase holds no checks';
  return {
    name,
    durationMs: 0,
    notImplemented: true,
    requested,
    tests: [
      {
        name: `${name} › holds checks`,
        file: `suites/${name}`,
        state: requested ? 'failed' : 'skipped',
        durationMs: 0,
        ...(requested ? { message: `${name}: ${reason}` } : { skipReason: reason }),
        retries: 0,
        flaky: false,
        notes: [],
      },
    ],
  };
}

/** The verdict of one phase, by the same rules. */
export function phaseVerdict(phase: PhaseResult): Verdict {
  return verdict({ runId: '', startedAt: '', durationMs: 0, properties: {}, errors: [], phases: [phase] });
}

/** Exit status of a run: 0 only when something ran and nothing failed (skips are reported, not hidden). */
export function verdictExitCode(v: Verdict): number {
  return v === 'PASSED' || v === 'INCOMPLETE' ? 0 : 1;
}

/** Per tracking issue (#207-#210, extended): its checks' counts across the run's phases. */
export function byIssue(results: RunResults): Array<{ serves: string } & ReturnType<typeof counts>> {
  const groups = new Map<string, TestResult[]>();
  for (const t of allTests(results)) if (t.serves) groups.set(t.serves, [...(groups.get(t.serves) ?? []), t]);
  return [...groups.entries()]
    .sort(([a], [b]) => (a === 'extended' ? 1 : b === 'extended' ? -1 : a.localeCompare(b)))
    .map(([serves, tests]) => ({ serves, ...counts(tests) }));
}
