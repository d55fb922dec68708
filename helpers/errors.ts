/** Errors that end a run before any check: each carries one sentence a person can act on. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
}

export class TargetUnreachableError extends Error {
  override readonly name = 'TargetUnreachableError';
  readonly exitCode = 3;
}

/** The target answered but is not fit for the suite (not riscv64, no Docker...). */
export class TargetUnfitError extends Error {
  override readonly name = 'TargetUnfitError';
  readonly exitCode = 3;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * apt's words for a Debian mirror caught mid-sync (its InRelease names index files it does not serve
 * yet): a sentence saying so and what to do, or undefined for any other output.
 */
export function debianMirrorSyncHint(output: string, option: string): string | undefined {
  // An expired index is refused by apt, and stays refused: this mirror no longer updates that suite.
  const expired = /Release file for (\S+) is expired \(invalid since ([^)]+)\)/.exec(output);
  if (expired)
    return `the Debian mirror serves an expired index (${expired[1]}, expired ${expired[2]} ago: its Valid-Until has passed, and apt rightly refuses it); pass ${option} URL for a mirror that updates it`;
  const apt = /Mirror sync in progress|File has unexpected size|Hash Sum mismatch/;
  const debootstrap = /\/dists\/\S+ was corrupt|Couldn't download \S+\/dists\//;
  if (!apt.test(output) && !debootstrap.test(output)) return undefined;
  return `the Debian mirror is mid-sync (its InRelease names index files it does not serve yet): try again later, or pass ${option} URL for another mirror`;
}
