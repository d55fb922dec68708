/**
 * The base image a fixture builds FROM when it only needs a shell: `busybox:1.37`, as BuildKit's own
 * integration tests use busybox. Through a registry mirror (the lab's stand-in for Docker Hub) it is
 * used only when the mirror serves it for every platform asked; else the debian stand-in, and the
 * note says which.
 */
import type { Target } from '../target/target.ts';
import { pushedImage } from './registry-http.ts';

export const SMALL_BASE = 'busybox:1.37';
export const FALLBACK_BASE = 'debian:trixie-slim';

export async function smallBase(
  target: Target,
  mirror: string | undefined,
  platforms: readonly string[],
): Promise<{ base: string; note: string }> {
  if (!mirror) return { base: SMALL_BASE, note: `FROM ${SMALL_BASE}` };
  const missing = await missingPlatforms(target, `${mirror}/library/${SMALL_BASE}`, platforms);
  if (missing.length === 0)
    return { base: SMALL_BASE, note: `FROM ${SMALL_BASE}, through the mirror ${mirror}` };
  return {
    base: FALLBACK_BASE,
    note: `FROM ${FALLBACK_BASE}: the registry mirror ${mirror} serves ${SMALL_BASE} without ${missing.join(', ')}`,
  };
}

/** The platforms asked for that an image in a registry does not serve (all of them when it cannot be read). */
export async function missingPlatforms(
  target: Target,
  ref: string,
  platforms: readonly string[],
): Promise<string[]> {
  const served = await pushedImage(target, ref, true)
    .then((p) => p.platforms)
    .catch(() => [] as string[]);
  return platforms.filter((p) => !served.some((s) => s === p || s.startsWith(`${p}/`)));
}
