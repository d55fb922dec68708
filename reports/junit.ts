import junit from 'junit-report-builder';
import { redact } from '../helpers/redact.ts';
import { phaseVerdict, type RunResults, verdict } from './model.ts';

// Under NodeNext the default export's type is the module namespace; the value is the builder.
type Builder = typeof import('junit-report-builder/dist/builder.js').JUnitReportBuilder.prototype;

/** JUnit XML: one <testsuite> per phase, final outcome only (retries as properties), UTC timestamps. */
export function toJUnit(results: RunResults): string {
  const builder = (junit as unknown as Builder)
    .newBuilder()
    .name(`buildkit-riscv64-acceptance ${results.runId}`);
  const timestamp = results.startedAt.slice(0, 19);
  for (const phase of results.phases) {
    const suite = builder
      .testSuite()
      .name(phase.name)
      .timestamp(timestamp)
      .time(phase.durationMs / 1000);
    for (const [k, v] of Object.entries(results.properties)) suite.property(k, redact(v));
    suite.property('run.verdict', verdict(results));
    suite.property('phase.verdict', phase.notImplemented ? 'NOT IMPLEMENTED' : phaseVerdict(phase));
    for (const t of phase.tests) {
      const tc = suite
        .testCase()
        .className(phase.name)
        .name(t.name)
        .time(t.durationMs / 1000)
        .file(t.file);
      if (t.serves) tc.property('serves', t.serves);
      if (t.retries > 0) tc.property('retries', String(t.retries));
      if (t.flaky) tc.property('flaky', 'true');
      if (t.state === 'failed') {
        // A failed expectation is a <failure>; a command (or anything else) that broke is an <error> of its type.
        const type = t.errorType ?? 'AssertionError';
        if (type === 'AssertionError') {
          tc.failure(redact(t.message ?? 'failed'), type);
          if (t.details) tc.stacktrace(redact(t.details));
        } else tc.error(redact(t.message ?? 'failed'), type, redact(t.details ?? ''));
      } else if (t.state === 'skipped') {
        tc.skipped();
        tc.property('skip-reason', redact(t.skipReason ?? 'no reason given'));
        const feature = /^needs ([\w:/.-]+): /.exec(t.skipReason ?? '')?.[1];
        if (feature) tc.property('skip-feature', feature);
      }
      const out = [
        ...t.notes,
        ...(t.state === 'skipped' ? [`skipped: ${t.skipReason ?? 'no reason given'}`] : []),
      ];
      if (out.length > 0) tc.standardOutput(redact(out.join('\n')));
      if (t.state === 'failed' && t.details) tc.standardError(redact(t.details));
    }
  }
  if (results.errors.length > 0) {
    const suite = builder.testSuite().name('run').timestamp(timestamp);
    for (const [i, e] of results.errors.entries()) {
      suite
        .testCase()
        .className('run')
        .name(`run › completes without errors outside tests (${i + 1})`)
        .error(redact(e.split('\n')[0] ?? e), 'Error', redact(e));
    }
  }
  return builder.build();
}
