/**
 * Two runs of the same phases (the board rehearsal, run on the target as the runner runs it, and the run
 * over SSH) compared: each phase's verdict and counts, and for every check whose state differs, both
 * states and why (its skip reason or failure message). Pure: the reports' JSON in, lines out.
 */
import { counts, type PhaseResult, type RunResults, type TestResult, verdict } from './model.ts';

export interface RunDifference {
  phase: string;
  /** What differs, one sentence, naming the check where there is one. */
  what: string;
}

function phaseVerdict(results: RunResults, phase: PhaseResult): string {
  return verdict({ ...results, errors: [], phases: [phase] });
}

const why = (t: TestResult) => t.skipReason ?? t.message ?? '';
const stateOf = (t: TestResult | undefined) => (t ? `${t.state}${why(t) ? ` (${why(t)})` : ''}` : 'absent');
/** A check's name without its phase's own prefix. */
const key = (t: TestResult) => t.name;

/** Differences between `board` and `ssh` over `phases` (every phase of either run when empty). */
export function compareRuns(
  board: RunResults,
  ssh: RunResults,
  phases: readonly string[] = [],
): RunDifference[] {
  const names = phases.length
    ? phases
    : [...new Set([...board.phases, ...ssh.phases].map((p) => p.name))].filter((n) => n !== 'self');
  const out: RunDifference[] = [];
  for (const name of names) {
    const b = board.phases.find((p) => p.name === name);
    const s = ssh.phases.find((p) => p.name === name);
    if (!b || !s) {
      out.push({ phase: name, what: `the phase ran only ${b ? 'on the board' : 'over SSH'}` });
      continue;
    }
    const [bv, sv] = [phaseVerdict(board, b), phaseVerdict(ssh, s)];
    if (bv !== sv) out.push({ phase: name, what: `verdict ${bv} on the board, ${sv} over SSH` });
    const [bc, sc] = [counts(b.tests), counts(s.tests)];
    if (bc.passed !== sc.passed || bc.failed !== sc.failed || bc.skipped !== sc.skipped)
      out.push({
        phase: name,
        what: `counts ${bc.passed}/${bc.failed}/${bc.skipped} on the board, ${sc.passed}/${sc.failed}/${sc.skipped} over SSH (passed/failed/skipped)`,
      });
    const sshTests = new Map(s.tests.map((t) => [key(t), t]));
    const boardTests = new Map(b.tests.map((t) => [key(t), t]));
    for (const t of b.tests) {
      const other = sshTests.get(key(t));
      if (other?.state !== t.state)
        out.push({ phase: name, what: `${t.name}: ${stateOf(t)} on the board, ${stateOf(other)} over SSH` });
    }
    for (const t of s.tests)
      if (!boardTests.has(key(t)))
        out.push({ phase: name, what: `${t.name}: absent on the board, ${stateOf(t)} over SSH` });
  }
  return out;
}

/**
 * Which of the phases asked of the board run (every phase it ran when none was named) both runs ran, to
 * compare, and which only the board run was asked, to name as not compared (CI runs most phases one way
 * only; "for the same phases"). A phase the SSH run had but the board lacks stays in `both`, so that its
 * absence is a difference.
 */
export function comparedPhases(
  asked: readonly string[],
  board: RunResults,
  ssh: RunResults,
): { both: string[]; alone: string[] } {
  const names = (asked.length ? [...asked] : board.phases.map((p) => p.name)).filter((p) => p !== 'self');
  const sshRan = new Set(ssh.phases.map((p) => p.name));
  return { both: names.filter((p) => sshRan.has(p)), alone: names.filter((p) => !sshRan.has(p)) };
}
