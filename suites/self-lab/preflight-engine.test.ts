/**
 * The preflight tells a slow Docker engine from a dead one (the parser: docker-engine.test.ts). On the lab:
 * a guest under load (CPU hogs in the VM) and a paused dockerd still pass, slower; a stopped
 * dockerd fails within seconds, with the sentence that says it is not running.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ENGINE_PROBE_SECONDS } from '../../harness/docker/docker-engine.ts';
import { loadConfig } from '../../harness/plan/config.ts';
import { openTarget, planTarget, preflight, type TargetPlan } from '../../harness/run/session.ts';
import type { Target } from '../../harness/target/target.ts';
import { TargetUnfitError } from '../../helpers/errors.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';

const reason = labUnavailable();
const test = testNeeding(reason);

describe('the preflight on the lab', () => {
  let plan: TargetPlan;
  let target: Target;
  /** What must run however a test ends: resume a paused dockerd, stop the hogs, start Docker again. */
  const restore: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    if (reason) return;
    plan = await planTarget(loadConfig());
    target = openTarget(plan.config);
  }, 30 * 60_000);

  afterAll(async () => {
    for (const undo of restore.reverse()) await undo().catch(() => undefined);
    await target?.close();
  }, 10 * 60_000);

  /** Runs `work` with `undo` registered first, and runs `undo` once it is done, whatever happened. */
  async function withUndo<T>(undo: () => Promise<unknown>, work: () => Promise<T>): Promise<T> {
    restore.push(undo);
    try {
      return await work();
    } finally {
      restore.splice(restore.indexOf(undo), 1);
      await undo();
    }
  }

  const sudo = (...argv: string[]) =>
    target.exec(['sudo', '-n', ...argv], { reject: false, timeoutMs: 5 * 60_000 });

  test(
    'passes on a guest under load (CPU hogs on every vCPU) and on a dockerd paused for longer than one probe, slower',
    async ({ annotate }) => {
      // Four busy loops per vCPU, in a process group of their own, killed with the group.
      const hogs = (
        await target.exec([
          'sh',
          '-c',
          "setsid sh -c 'for i in $(seq $((4 * $(nproc)))); do (while :; do :; done) & done; wait' >/dev/null 2>&1 & echo $!",
        ])
      ).stdout.trim();
      expect(hogs).toMatch(/^\d+$/);
      // pkill -g: dash's kill builtin takes no `--`, and a group left running would load every later test.
      const stopHogs = async () => {
        await target.exec(['pkill', '-KILL', '-g', hogs], { reject: false });
        const left = await target.exec(['pgrep', '-g', hogs], { reject: false });
        expect(left.stdout.trim(), `CPU hogs of group ${hogs} left running`).toBe('');
      };
      await withUndo(stopHogs, async () => {
        // dockerd paused for longer than one probe's limit and the facts probe's own (60 s), resumed by the guest itself (a slow engine, not
        // a dead one); SIGCONT is also registered here in case the guest's own timer never fires.
        const pauseS = ENGINE_PROBE_SECONDS + 50;
        const resume = () => sudo('systemctl', 'kill', '--signal=SIGCONT', 'docker.service');
        await withUndo(resume, async () => {
          const paused = await sudo('systemctl', 'kill', '--signal=SIGSTOP', 'docker.service');
          expect(paused.exitCode, paused.stderr).toBe(0);
          await target.exec([
            'sh',
            '-c',
            `(sleep ${pauseS}; sudo -n systemctl kill --signal=SIGCONT docker.service) >/dev/null 2>&1 &`,
          ]);
          const lines: string[] = [];
          const t0 = performance.now();
          const { facts } = await preflight(target, plan.config, true, (l) => lines.push(l));
          const seconds = (performance.now() - t0) / 1000;
          await annotate(`preflight passed after ${seconds.toFixed(0)} s: ${lines.join(' / ')}`);
          expect(facts.dockerServer).toMatch(/^\d+\.\d+/);
          expect(seconds).toBeGreaterThan(ENGINE_PROBE_SECONDS);
          expect(lines.join('\n')).toMatch(
            /did not answer within \d+ s \(load average [\d.]+ [\d.]+ [\d.]+\); asking again/,
          );
        });
      });
    },
    10 * 60_000,
  );

  test(
    'fails within seconds for a stopped dockerd, saying that nothing answers on its socket',
    async ({ annotate }) => {
      const start = () => sudo('systemctl', 'start', 'docker.socket', 'docker.service');
      await withUndo(start, async () => {
        const stopped = await sudo('systemctl', 'stop', 'docker.socket', 'docker.service');
        expect(stopped.exitCode, stopped.stderr).toBe(0);
        const t0 = performance.now();
        const err = await preflight(target, plan.config).then(
          () => undefined,
          (e: unknown) => e,
        );
        const seconds = (performance.now() - t0) / 1000;
        await annotate(`preflight failed after ${seconds.toFixed(0)} s`);
        expect(err).toBeInstanceOf(TargetUnfitError);
        expect((err as Error).message).toBe(
          `the Docker engine on ${target.host} refused: nothing answers on /var/run/docker.sock (dockerd is not running) (sudo systemctl start docker)`,
        );
        // Fast: one probe, not the slow engine's deadline.
        expect(seconds).toBeLessThan(ENGINE_PROBE_SECONDS + 30);
      });
      // Docker is back for the tests after this one.
      const back = await target.exec(['docker', 'version', '--format', '{{.Server.Version}}'], {
        reject: false,
        timeoutMs: 120_000,
      });
      expect(back.exitCode, back.stderr).toBe(0);
    },
    10 * 60_000,
  );
});
