/**
 * The per-phase issue closer: after a run (one results.json per board), closes each tracking issue whose
 * checks (those declaring that they serve it) all ran and passed on every board, zero skips among them,
 * for one BuildKit ref, once the
 * issues it depends on are closed or close in the same run; comments the evidence; reopens an issue a
 * later red run regresses, with the failing check's evidence. Dry run unless asked to act.
 */
import type { Octokit } from '@octokit/rest';
import { formatDuration } from '../helpers/command-result.ts';
import { redact } from '../helpers/redact.ts';
import { counts, type RunResults, type TestResult } from '../reports/model.ts';
import type { Repo } from './tracker.ts';

/** The upstream tracking issues and the phases each one stands for, in dependency order. */
export const PHASE_ISSUES: ReadonlyArray<{ issue: number; phases: readonly string[] }> = [
  { issue: 207, phases: ['binaries'] },
  { issue: 208, phases: ['container'] },
  { issue: 209, phases: ['buildx', 'multiplatform', 'rootless'] },
  { issue: 210, phases: ['release-tracking'] },
];

export interface BoardResults {
  board: string;
  results: RunResults;
}

type Verdict = { state: 'green' } | { state: 'red'; evidence: string } | { state: 'not-green'; why: string };

/** The issue a check serves: its declared tag, or (results written before checks declared one) its phase's. */
export function servesOf(t: TestResult, phase: string): string {
  if (t.serves) return t.serves;
  const owner = PHASE_ISSUES.find((x) => x.phases.includes(phase));
  return owner ? `#${owner.issue}` : 'extended';
}

/** A phase's checks that serve `tag` (`#209`, `extended`). */
function serving(phase: { name: string; tests: TestResult[] }, tag: string): TestResult[] {
  return phase.tests.filter((t) => servesOf(t, phase.name) === tag);
}

/**
 * One board's verdict on one issue: its phases ran, and every check serving it (by its declared issue,
 * in whichever phase) ran and passed. A skip among them is never green; `extended` checks do not count.
 */
function issueVerdict(board: string, results: RunResults, issue: number, phases: readonly string[]): Verdict {
  for (const name of phases) {
    const phase = results.phases.find((p) => p.name === name);
    if (!phase) return { state: 'not-green', why: `${board}: phase ${name} did not run` };
    if (phase.notImplemented) return { state: 'not-green', why: `${board}: phase ${name} holds no checks` };
  }
  const checks = results.phases.flatMap((p) => serving(p, `#${issue}`));
  const failed = checks.find((t) => t.state === 'failed');
  if (failed)
    return {
      state: 'red',
      evidence: `${board} › ${failed.name}: ${failed.message ?? 'failed'}\n\n${(failed.details ?? '').split('\n').slice(0, 40).join('\n')}`,
    };
  const skipped = checks.filter((t) => t.state === 'skipped');
  if (skipped.length > 0)
    return {
      state: 'not-green',
      why: `${board}: ${skipped.length} check(s) serving #${issue} skipped (${skipped[0]!.name}: ${skipped[0]!.skipReason ?? 'no reason given'})`,
    };
  if (checks.length === 0) return { state: 'not-green', why: `${board}: no check serving #${issue} ran` };
  return { state: 'green' };
}

/**
 * Why a board's results may close nothing: they are not a board's (the lab's, or of unknown origin), the
 * run failed outside its tests, or they are older than this workflow run. Undefined when they may.
 */
export function refusal(b: BoardResults, notBefore?: string): string | undefined {
  const origin = b.results.properties['run.target-origin'];
  if (origin === 'lab')
    return `${b.board}: refused: its results come from the lab (run.target-origin lab), not from a board`;
  if (origin !== 'local' && origin !== 'ssh')
    return `${b.board}: refused: its results do not say they ran on a board (run.target-origin ${origin ?? 'absent'})`;
  if (b.results.errors.length > 0)
    return `${b.board}: refused: the run has ${b.results.errors.length} error(s) outside its checks: ${b.results.errors[0]!.split('\n')[0]}`;
  if (notBefore && !(Date.parse(b.results.startedAt) >= Date.parse(notBefore)))
    return `${b.board}: refused: its results (started ${b.results.startedAt}) are older than this workflow run (${notBefore})`;
  return undefined;
}

export interface IssuePlan {
  issue: number;
  phases: readonly string[];
  action: 'close' | 'reopen' | 'keep';
  reason: string;
  comment?: string;
}

function evidenceComment(
  boards: BoardResults[],
  issue: number,
  phases: readonly string[],
  ref: string,
  runUrl?: string,
): string {
  const lines = [
    `Every check serving #${issue} (in ${phases.map((p) => `\`${p}\``).join(', ')}) ran and passed on ${boards.length} board(s) for BuildKit \`${ref}\`.`,
    '',
  ];
  for (const { board, results } of boards) {
    const p = results.properties;
    lines.push(
      `**${board}**: ${[p['target.arch'], p['target.cpu'], p['target.distro'], p['target.kernel'], p['target.docker'] && `Docker ${p['target.docker']}`].filter(Boolean).join(', ')}`,
    );
    for (const [k, label] of [
      ['binaries.version', 'version'],
      ['binaries.revision', 'revision'],
      ['container.image-digest', 'image digest'],
    ] as const)
      if (p[k]) lines.push(`- ${label}: \`${p[k]}\``);
    for (const name of phases) {
      const phase = results.phases.find((x) => x.name === name)!;
      const c = counts(serving(phase, `#${issue}`));
      lines.push(
        `- ${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped of the checks serving #${issue}, in ${formatDuration(phase.durationMs)}`,
      );
    }
    // Checks beyond the issue's acceptance, in its phases: listed with their states, never hidden.
    const extended = phases.flatMap((name) => {
      const phase = results.phases.find((x) => x.name === name);
      return phase ? serving(phase, 'extended') : [];
    });
    if (extended.length > 0) {
      lines.push('- extended (beyond the acceptance; they close nothing):');
      for (const t of extended)
        lines.push(
          `  - ${t.state}: ${t.name}${t.state === 'skipped' ? ` (${t.skipReason ?? 'no reason given'})` : ''}`,
        );
    }
  }
  if (runUrl) lines.push('', `Run: ${runUrl}`);
  return redact(lines.join('\n'));
}

/** What to do with each issue, from the boards' results and the issues' current states. */
export function planIssues(
  boards: BoardResults[],
  openState: (issue: number) => 'open' | 'closed',
  runUrl?: string,
  /** Results started before this instant (the workflow run's start) are refused. */
  notBefore?: string,
): IssuePlan[] {
  // Only board evidence counts: one refused results file keeps every issue as it is, saying why.
  const refused = boards.map((b) => refusal(b, notBefore)).filter((r): r is string => r !== undefined);
  if (refused.length > 0)
    return PHASE_ISSUES.map(({ issue, phases }) => ({
      issue,
      phases,
      action: 'keep',
      reason: refused.join('; '),
    }));
  const refs = new Set(boards.map((b) => b.results.properties['run.buildkit-ref'] ?? 'unknown'));
  const ref = [...refs].join(', ');
  const plans: IssuePlan[] = [];
  let previousDone = true;
  for (const { issue, phases } of PHASE_ISSUES) {
    const verdicts = boards.map((b) => issueVerdict(b.board, b.results, issue, phases));
    const red = verdicts.find((v) => v.state === 'red') as { evidence: string } | undefined;
    const notGreen = verdicts.find((v) => v.state === 'not-green') as { why: string } | undefined;
    const state = openState(issue);
    let plan: IssuePlan;
    if (red) {
      plan =
        state === 'closed'
          ? {
              issue,
              phases,
              action: 'reopen',
              reason: 'a check failed',
              comment: redact(
                `Reopened: a check of ${phases.join(', ')} failed.\n\n\`\`\`\n${red.evidence}\n\`\`\`${runUrl ? `\n\nRun: ${runUrl}` : ''}`,
              ),
            }
          : { issue, phases, action: 'keep', reason: 'a check failed (the issue is open)' };
    } else if (notGreen) plan = { issue, phases, action: 'keep', reason: notGreen.why };
    else if (boards.length === 0) plan = { issue, phases, action: 'keep', reason: 'no results' };
    else if (refs.size !== 1)
      plan = { issue, phases, action: 'keep', reason: `the boards checked different BuildKit refs (${ref})` };
    else if (!previousDone)
      plan = { issue, phases, action: 'keep', reason: `green, but an issue it depends on is not closed` };
    else if (state === 'closed')
      plan = { issue, phases, action: 'keep', reason: 'green, and closed already' };
    else
      plan = {
        issue,
        phases,
        action: 'close',
        reason: 'green on every board',
        comment: evidenceComment(boards, issue, phases, ref, runUrl),
      };
    previousDone = plan.action === 'close' || (state === 'closed' && plan.action !== 'reopen');
    plans.push(plan);
  }
  return plans;
}

export async function applyPlans(octokit: Octokit, project: Repo, plans: IssuePlan[]): Promise<void> {
  for (const p of plans) {
    if (p.action === 'keep') continue;
    await octokit.issues.createComment({ ...project, issue_number: p.issue, body: p.comment ?? p.reason });
    await octokit.issues.update({
      ...project,
      issue_number: p.issue,
      state: p.action === 'close' ? 'closed' : 'open',
      ...(p.action === 'close' ? { state_reason: 'completed' as const } : {}),
    });
  }
}
