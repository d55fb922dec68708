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
