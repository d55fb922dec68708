import { formatDuration } from '../helpers/command-result.ts';
import { redact } from '../helpers/redact.ts';
import { allTests, byIssue, counts, phaseVerdict, type RunResults, verdict } from './model.ts';

/** The Markdown summary: per phase passed/failed/skipped and duration, then the first failure's evidence. */
export function toMarkdown(results: RunResults): string {
  const lines: string[] = [];
  lines.push(`## BuildKit on riscv64: ${verdict(results)}`);
  lines.push('');
  const p = results.properties;
  const target = [p['target.host'], p['target.arch'], p['target.distro'], p['target.kernel']]
    .filter(Boolean)
    .join(', ');
  if (target) lines.push(`Target: ${target}${p['run.build'] ? ` · build: ${p['run.build']}` : ''}`);
  if (p['lab.docker']) lines.push(`Docker (lab): ${p['lab.docker']}`);
  if (p['lab.debian-index']) lines.push(`Debian index (lab): ${p['lab.debian-index']}`);
  lines.push(
    `Run ${results.runId}, started ${results.startedAt}, took ${formatDuration(results.durationMs)}`,
  );
  lines.push('');
  lines.push('| phase | verdict | passed | failed | skipped | duration |');
  lines.push('|---|---|---:|---:|---:|---:|');
  for (const phase of results.phases) {
    const c = counts(phase.tests);
    const v = phase.notImplemented ? 'NOT IMPLEMENTED' : phaseVerdict(phase);
    lines.push(
      `| ${phase.name} | ${v} | ${c.passed} | ${c.failed} | ${c.skipped} | ${formatDuration(phase.durationMs)} |`,
    );
  }
  if (results.phases.length === 0) lines.push('| (no phase ran) | NOT RUN | 0 | 0 | 0 | 0s |');
  const issues = byIssue(results);
  if (issues.length > 0) {
    lines.push('', '| serves | passed | failed | skipped |', '|---|---:|---:|---:|');
    for (const i of issues) lines.push(`| ${i.serves} | ${i.passed} | ${i.failed} | ${i.skipped} |`);
  }
  const empty = results.phases.filter((p) => p.notImplemented);
  if (empty.length > 0) {
    lines.push('', '### Not implemented', '');
    for (const p of empty)
      lines.push(`- ${p.name}: holds no checks${p.requested ? ' (asked for by name: the run fails)' : ''}`);
  }
  const skipped = allTests(results).filter((t) => t.state === 'skipped');
  if (skipped.length > 0) {
    lines.push('', '### Skipped', '');
    for (const t of skipped)
      lines.push(`- ${t.name}${t.serves ? ` (${t.serves})` : ''}: ${t.skipReason ?? 'no reason given'}`);
  }
  const failed = allTests(results).filter((t) => t.state === 'failed');
  if (failed.length > 0) {
    lines.push('', '### Failed', '');
    for (const t of failed)
      lines.push(`- ${t.name}${t.serves ? ` (${t.serves})` : ''}: ${t.message ?? 'failed'}`);
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
