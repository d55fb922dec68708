/**
 * The registry the push, export and cache checks use. Given (`--push-registry`), it is used as named.
 * Otherwise the phase file starts one of its own on the target, as a board's nightly would: a
 * `registry:3` container, labelled and registered for removal before it is created, its port published
 * on 127.0.0.1 only. Two names reach it, neither needing a change to the target's Docker:
 * - the engine pulls from `127.0.0.1:<port>` (Docker trusts plain HTTP on loopback by default);
 * - builders (containers on Docker's default bridge, and the target's own shell) use the container's
 *   address on that bridge, `<ip>:5000`, with `registry.insecure=true` as the checks always ask.
 * The image is the same on both sides (a manifest names no registry), so a check pushes under one name
 * and pulls under the other.
 */

import { formatDuration } from '../../helpers/command-result.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { runEnv } from '../plan/run-env.ts';
import type { PhaseContext } from './phase-context.ts';

/** Docker Hub's registry (distribution 3, linux/riscv64 among its platforms); the lab serves a stand-in. */
export const REGISTRY_IMAGE = 'registry:3';

export interface PushRegistry {
  /** host:port the target's builders push to and pull from (and `curl` on the target reads). */
  forBuilders: string;
  /** host:port the target's Docker engine pulls from. */
  forEngine: string;
  /** Where it came from, for the reports. */
  how: string;
}

/** A ref pushed under the builders' name, as the engine names it. */
export function engineRef(registry: PushRegistry, ref: string): string {
  return ref.startsWith(`${registry.forBuilders}/`)
    ? `${registry.forEngine}/${ref.slice(registry.forBuilders.length + 1)}`
    : ref;
}

const started = new WeakMap<PhaseContext['resources'], Promise<PushRegistry>>();

/** This file's push registry: the one given, or a run-owned one started on first use. */
export function pushRegistry(ctx: PhaseContext): Promise<PushRegistry> {
  const given = ctx.config.pushRegistry;
  if (given) return Promise.resolve({ forBuilders: given, forEngine: given, how: `given: ${given}` });
  let p = started.get(ctx.resources);
  if (!p) {
    p = startRegistry(ctx);
    started.set(ctx.resources, p);
  }
  return p;
}

/**
 * Starts the run's registry ahead of its first use (beside a phase's other setup) when the whole phase
 * runs; under `--grep` the first selected check that needs it starts it, so a run that selects none
 * starts none. Its error is the first use's.
 */
export function pushRegistryAhead(ctx: PhaseContext): void {
  if (runEnv('grep')) return;
  pushRegistry(ctx).catch(() => undefined);
}

/** A run-owned registry on the target, removed with `ctx.resources` (also what `build-image --push` serves phase 1's tarball from). */
export async function startRegistry(ctx: Pick<PhaseContext, 'target' | 'resources'>): Promise<PushRegistry> {
  const { target, resources } = ctx;
  const t0 = performance.now();
  const docker = (args: string[], context: string, timeoutMs = 120_000) =>
    target.exec(['docker', ...args], { context, timeoutMs });
  const present = await target.exec(['docker', 'image', 'inspect', REGISTRY_IMAGE], {
    reject: false,
    timeoutMs: 60_000,
  });
  if (present.failed) {
    // Pulled by this run: removed with it (an image the target had before is left as it was).
    resources.image(REGISTRY_IMAGE);
    await docker(
      ['pull', REGISTRY_IMAGE],
      `pulling ${REGISTRY_IMAGE} for the run's own registry`,
      10 * 60_000,
    );
  }
  const name = resources.name('registry');
  resources.container(name);
  await docker(
    ['run', '-d', '--name', name, ...resources.labelFlags, '-p', '127.0.0.1::5000', REGISTRY_IMAGE],
    `starting the run's own registry (${REGISTRY_IMAGE}) on the target`,
  );
  const port = (await docker(['port', name, '5000/tcp'], 'reading the registry container port')).stdout
    .split('\n')
    .map((l) => /^127\.0\.0\.1:(\d+)$/.exec(l.trim())?.[1])
    .find(Boolean);
  const ip = (
    await docker(
      ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', name],
      'reading the registry container address',
    )
  ).stdout
    .trim()
    .split(/\s+/)[0];
  if (!port || !ip)
    throw new Error(
      `the run's own registry ${name} has no 127.0.0.1 port (${port}) or bridge address (${ip})`,
    );
  const registry = { forBuilders: `${ip}:5000`, forEngine: `127.0.0.1:${port}`, how: '' };
  // Both names answer before any check uses them.
  for (const addr of [registry.forEngine, registry.forBuilders])
    await pollUntil(
      async () => {
        const r = await target.exec(['curl', '-fsS', '-o', '/dev/null', `http://${addr}/v2/`], {
          reject: false,
          timeoutMs: 20_000,
        });
        return r.failed ? undefined : true;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
        what: `the run's own registry (${name}) to answer on http://${addr}/v2/`,
      },
    ).catch(async (err: Error) => {
      const logs = await target.exec(['docker', 'logs', '--tail', '20', name], { reject: false });
      throw new Error(`${err.message}\nregistry log (tail):\n${logs.stdout}${logs.stderr}`, { cause: err });
    });
  registry.how = `run-owned: ${REGISTRY_IMAGE} as ${name}, ${registry.forBuilders} for builders, ${registry.forEngine} for the engine, up in ${formatDuration(performance.now() - t0)}`;
  return registry;
}
