import type { Config } from '../config.ts';
import { factsAsProperties } from '../facts.ts';
import { openTarget, planTarget, preflight } from '../session.ts';
import { EXIT } from './help.ts';
import { say } from './say.ts';

/** Reaches the target and prints its facts, or one sentence why not. */
export async function doctor(config: Config): Promise<number> {
  const plan = await planTarget(config);
  const target = openTarget(plan.config, say);
  try {
    const { facts, problems } = await preflight(target, plan.config, false);
    const props = {
      ...factsAsProperties(facts),
      'run.build': plan.buildMode,
      'run.target-origin': plan.origin,
    };
    const width = Math.max(...Object.keys(props).map((k) => k.length));
    for (const [k, v] of Object.entries(props)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    if (problems.length > 0) {
      for (const p of problems) say(`doctor: ${p}`);
      return EXIT.unreachable;
    }
    say(`doctor: ${target.host} is ready (${facts.arch}, Docker ${facts.dockerServer})`);
    return EXIT.ok;
  } finally {
    await target.close();
  }
}
