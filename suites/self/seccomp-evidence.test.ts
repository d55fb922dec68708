/** The seccomp verdicts on the probe's answers: a riscv64-aware profile in force, and each way it is not. */
import { describe, expect, test } from 'vitest';
import { defaultProfileProblems, parseProbe } from '../../helpers/seccomp-evidence.ts';

const answers = (flush: string, keyctl: string) =>
  parseProbe(`riscv_flush_icache ${flush}\nkeyctl ${keyctl}\n`);
const EPERM = 'errno 1 (operation not permitted)';

describe('seccomp on riscv64', () => {
  test('a riscv64-aware profile in force: riscv_flush_icache allowed, keyctl denied', () => {
    expect(defaultProfileProblems(answers('ok', EPERM), 'docker run')).toEqual([]);
    expect(defaultProfileProblems(answers('ok', 'errno 1 (EPERM)'), 'x')).toEqual([]);
  });

  test('an arch map without riscv64 denies riscv_flush_icache, and the verdict names it', () => {
    expect(defaultProfileProblems(answers(EPERM, EPERM), 'docker run')).toEqual([
      'docker run: riscv_flush_icache (259) answered errno 1 (operation not permitted): the seccomp profile does not know riscv64 (its arch map lacks SCMP_ARCH_RISCV64, moby/moby#48454)',
    ]);
  });

  test('no profile in force (unconfined, or runc without seccomp) lets keyctl through', () => {
    expect(defaultProfileProblems(answers('ok', 'ok'), 'a RUN step')).toEqual([
      'a RUN step: keyctl (219), which the default profile denies, answered ok: no seccomp profile is in force (a runc without seccomp, k3s-io/k3s#14529, or seccomp=unconfined)',
    ]);
    expect(defaultProfileProblems(parseProbe('exec format error'), 'x')).toEqual([
      'x: the probe printed no answer for riscv_flush_icache',
    ]);
  });
});
