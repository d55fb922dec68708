import { formatDuration } from '../harness/command-result.ts';
import { redact } from '../harness/redact.ts';
import { allTests, counts, type RunResults, runPassed } from './model.ts';

/** The Markdown summary: per phase passed/failed/skipped and duration, then the first failure's evidence. */
export function toMarkdown(results: RunResults): string {
  const lines: string[] = [];
  const verdict = runPassed(results) ? 'PASSED' : 'FAILED';
  lines.push(`## BuildKit on riscv64: ${verdict}`);
  lines.push('');
  const p = results.properties;
  const target = [p['target.host'], p['target.arch'], p['target.distro'], p['target.kernel']]
    .filter(Boolean)
    .join(', ');
  if (target) lines.push(`Target: ${target}${p['run.build'] ? ` · build: ${p['run.build']}` : ''}`);
  lines.push(
    `Run ${results.runId}, started ${results.startedAt}, took ${formatDuration(results.durationMs)}`,
  );
  lines.push('');
  lines.push('| phase | passed | failed | skipped | duration |');
  lines.push('|---|---:|---:|---:|---:|');
  for (const phase of results.phases) {
    const c = counts(phase.tests);
    lines.push(
      `| ${phase.name} | ${c.passed} | ${c.failed} | ${c.skipped} | ${formatDuration(phase.durationMs)} |`,
    );
  }
  const skipped = allTests(results).filter((t) => t.state === 'skipped');
  if (skipped.length > 0) {
    lines.push('', '### Skipped', '');
    for (const t of skipped) lines.push(`- ${t.name}: ${t.skipReason ?? 'no reason given'}`);
  }
  const failed = allTests(results).filter((t) => t.state === 'failed');
  if (failed.length > 0) {
    lines.push('', '### Failed', '');
    for (const t of failed) lines.push(`- ${t.name}: ${t.message ?? 'failed'}`);
    const first = failed[0]!;
    lines.push(
      '',
      `### First failure: ${first.name}`,
      '',
      '```',
      (first.details ?? first.message ?? '').trim(),
      '```',
    );
  }
  if (results.errors.length > 0) {
    lines.push('', '### Errors outside tests', '');
    for (const e of results.errors) lines.push('```', e.trim(), '```');
  }
  return redact(`${lines.join('\n')}\n`);
}
