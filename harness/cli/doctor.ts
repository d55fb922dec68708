import { errorMessage } from '../../helpers/errors.ts';
import { factsAsProperties } from '../docker/facts.ts';
import type { Config } from '../plan/config.ts';
import { buildLabel } from '../run/build-label.ts';
import { proxyRoute } from '../run/proxy-route.ts';
import { openTarget, planTarget, preflight } from '../run/session.ts';
import { unmetRequirements } from '../sandbox/requirements.ts';
import { EXIT } from './help.ts';
import { say } from './say.ts';

/**
 * Reaches the target and prints its facts, or one sentence why not; then each requirement a phase has
 * that the target does not meet, with the command that grants it, and (for a native build) whether this
 * machine's Go can build the BuildKit asked for.
 */
export async function doctor(config: Config): Promise<number> {
  const plan = await planTarget(config);
  const target = openTarget(plan.config, say);
  try {
    const { facts, problems } = await preflight(target, plan.config, false, say);
    const props = {
      ...factsAsProperties(facts),
      'run.build': buildLabel(plan.buildMode, plan.config.binaries),
      'run.target-origin': plan.origin,
    };
    const width = Math.max(...Object.keys(props).map((k) => k.length));
    for (const [k, v] of Object.entries(props)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    if (problems.length > 0) {
      for (const p of problems) say(`doctor: ${p}`);
      return EXIT.unreachable;
    }
    const unmet = facts.dockerServer ? unmetRequirements(facts) : [];
    // The proxy checks run tinyproxy where the suite runs (the board itself, or the lab's host).
    const route =
      facts.dockerServer && plan.origin !== 'ssh' ? await proxyRoute(plan.origin, target) : undefined;
    if (route && 'unreachable' in route)
      unmet.push({
        need: 'the buildx proxy checks run an HTTP proxy',
        feature: 'http-proxy',
        why: route.unreachable,
        fix: 'sudo apt-get install tinyproxy (its own service is not needed: sudo systemctl disable --now tinyproxy)',
      });
    for (const u of unmet) say(`doctor: missing ${u.feature} (${u.need}): ${u.why}\n  fix: ${u.fix}`);
    const go =
      plan.buildMode === 'native' && !plan.config.binaries
        ? await goProblem(plan.config.buildkitRef)
        : undefined;
    if (go) say(`doctor: ${go}`);
    say(
      unmet.length === 0 && !go
        ? `doctor: ${target.host} is ready (${facts.arch}, Docker ${facts.dockerServer}): every phase can run`
        : `doctor: ${target.host} answers (${facts.arch}, Docker ${facts.dockerServer}); ${unmet.length + (go ? 1 : 0)} requirement(s) above are missing: their checks will skip and those phases will not be green`,
    );
    return EXIT.ok;
  } finally {
    await target.close();
  }
}

/** Whether this machine's Go can build the binaries natively; a failure to find out is said, not thrown. */
async function goProblem(ref: string): Promise<string | undefined> {
  const { toolchainProblem } = await import('../../build/binaries.ts');
  return toolchainProblem(ref).catch(
    (err: unknown) => `cannot tell whether Go can build ${ref}: ${errorMessage(err)}`,
  );
}
