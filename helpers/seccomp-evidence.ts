/**
 * What the seccomp probe (fixtures/seccomp/probe) printed, and what it means. Under Docker's or
 * BuildKit's default profile on riscv64, `riscv_flush_icache` must be allowed (JITs need it; an arch map
 * without riscv64 denies it: moby/moby#48454) and `keyctl` denied (a profile in force: runc built
 * without seccomp enforces nothing, k3s-io/k3s#14529).
 */
export type ProbeAnswers = Record<string, string>;

/** `name ok` / `name errno N (text)` lines into name -> answer ('ok' or 'errno N (text)'). */
export function parseProbe(stdout: string): ProbeAnswers {
  const answers: ProbeAnswers = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\w+) (ok|errno \d+ \(.*\))$/.exec(line.trim());
    if (m) answers[m[1]!] = m[2]!;
  }
  return answers;
}

const EPERM = /^errno 1 /;

/** Why the answers under a default profile (`where`) are not a riscv64-aware profile in force. */
export function defaultProfileProblems(answers: ProbeAnswers, where: string): string[] {
  const problems: string[] = [];
  const flush = answers.riscv_flush_icache;
  const keyctl = answers.keyctl;
  if (flush === undefined || keyctl === undefined)
    return [
      `${where}: the probe printed no answer for ${flush === undefined ? 'riscv_flush_icache' : 'keyctl'}`,
    ];
  if (flush !== 'ok')
    problems.push(
      `${where}: riscv_flush_icache (259) answered ${flush}: the seccomp profile does not know riscv64 (its arch map lacks SCMP_ARCH_RISCV64, moby/moby#48454)`,
    );
  if (!EPERM.test(keyctl))
    problems.push(
      `${where}: keyctl (219), which the default profile denies, answered ${keyctl}: no seccomp profile is in force (a runc without seccomp, k3s-io/k3s#14529, or seccomp=unconfined)`,
    );
  return problems;
}
