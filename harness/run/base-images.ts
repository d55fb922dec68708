/**
 * A base image a build pulls through the registry mirror must be there for every platform the build
 * asks for before it starts. The lab's registry serves debian's riscv64 tree as soon as the lab is up
 * and the other platforms' once their trees are made (minutes later on a fresh machine, while the first
 * phases run); another mirror may be mid-sync. So a check that builds FROM it for those platforms waits,
 * with a deadline, saying what it waits for; a lab start that failed to make them fails it at once.
 */

import { formatDuration } from '../../helpers/command-result.ts';
import { errorMessage } from '../../helpers/errors.ts';
import { FALLBACK_BASE, missingPlatforms, smallBase } from '../docker/small-base.ts';
import { Lab } from '../lab/lab.ts';
import { sleep } from '../lab/processes.ts';
import type { PhaseContext } from './phase-context.ts';

type Ctx = Pick<PhaseContext, 'target' | 'config' | 'origin'>;

export async function awaitBaseImage(
  ctx: Ctx,
  image: string,
  platforms: readonly string[],
  options: {
    deadlineMs?: number;
    pollMs?: number;
    log?: (line: string) => void;
    /** What makes it in the lab: the base trees (default), or the SBOM scanner stand-in. */
    work?: 'bases' | 'scanner';
  } = {},
): Promise<void> {
  const mirror = ctx.config.registryMirror;
  if (!mirror) return;
  const ref = `${mirror}/${image.includes('/') ? image : `library/${image}`}`;
  const making = options.work === 'scanner' ? 'the SBOM scanner stand-in' : 'their trees';
  const deadlineMs = options.deadlineMs ?? 30 * 60_000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const lab = ctx.origin === 'lab' ? new Lab(ctx.config.lab, { quiet: true }) : undefined;
  const t0 = performance.now();
  let said = 0;
  for (;;) {
    const missing = await missingPlatforms(ctx.target, ref, platforms);
    if (missing.length === 0) {
      if (said > 0) log(`base image: ${ref} now serves ${platforms.join(', ')}`);
      return;
    }
    const waited = performance.now() - t0;
    const what = `${ref} for ${missing.join(', ')}`;
    const status = lab
      ? await lab.basesStatus(options.work).catch((err) => ({
          state: 'unknown',
          error: errorMessage(err),
        }))
      : undefined;
    if (lab && status?.state !== 'making') {
      const why =
        status && 'error' in status
          ? `the lab failed to make them: ${status.error}`
          : 'nothing is making them (npm run lab -- up makes what the lab cache lacks)';
      throw new Error(`base image: the lab registry serves no ${what}; ${why}`);
    }
    if (waited > deadlineMs)
      throw new Error(
        `base image: ${what} was not served within ${formatDuration(deadlineMs)}${lab ? ` (the lab is still making ${making})` : ` (is the mirror ${mirror} mid-sync?)`}`,
      );
    if (waited >= said * 60_000) {
      log(
        `base image: waiting for ${what} (${lab ? `the lab is making ${making}` : 'the mirror does not serve them yet'}; ${formatDuration(waited)} of at most ${formatDuration(deadlineMs)})`,
      );
      said++;
    }
    await sleep(options.pollMs ?? 15_000);
  }
}

/** The small base for these platforms; when it is the debian stand-in, once that serves every one. */
export async function servedSmallBase(
  ctx: Ctx,
  platforms: readonly string[],
): Promise<{ base: string; note: string }> {
  const small = await smallBase(ctx.target, ctx.config.registryMirror, platforms);
  if (small.base === FALLBACK_BASE) await awaitBaseImage(ctx, FALLBACK_BASE, platforms);
  return small;
}
