/**
 * The environment variables the suite reads that are not options (the options, each with its flag, are
 * config.ts's table): what a parent process hands its children, and the switches the workflows and the
 * bench set. Read and written only through this table, by name; with config.ts, the only modules that
 * touch `process.env.BKA_*`.
 */
export const RUN_ENV = {
  /** The run plan, serialised whole (handover.ts). */
  plan: 'BKA_PLAN',
  /** The run's id, chosen once by the first process; labels and names carry it. */
  runId: 'BKA_RUN_ID',
  /** `cli` when the CLI command that runs vitest owns the lab's lifetime. */
  labOwner: 'BKA_LAB_OWNER',
  /** The phases asked for by name (comma-separated): one that holds no checks fails the run. */
  phasesRequested: 'BKA_PHASES_REQUESTED',
  /** `--grep`: the checks not selected are reported as such. */
  grep: 'BKA_GREP',
  /** The nightly's benchmark history file (default: history.jsonl in the report dir). */
  historyFile: 'BKA_HISTORY_FILE',
  /** `1`: phase 1 builds anew instead of taking the build script's cache (the nightly sets it). */
  fresh: 'BKA_FRESH',
  /** `0`: `lab down` powers the guest off and `lab up` boots (no hibernation). */
  labResume: 'BKA_LAB_RESUME',
  /** The passphrase of an encrypted SSH identity file. */
  sshPassphrase: 'BKA_SSH_PASSPHRASE',
  /** `npm run bench`: how many hibernate/resume cycles to time. */
  benchResumes: 'BKA_BENCH_RESUMES',
  /** `1`: the self-lab tests skip, saying so. */
  skipLab: 'BKA_SKIP_LAB',
} as const;

export type RunEnvName = keyof typeof RUN_ENV;

/** The variable's value, or undefined when unset or empty. */
export function runEnv(name: RunEnvName): string | undefined {
  return process.env[RUN_ENV[name]] || undefined;
}

/** Sets it in this process (its children inherit it). */
export function setRunEnv(name: RunEnvName, value: string): void {
  process.env[RUN_ENV[name]] = value;
}

/** An environment for a child process, by name (an empty value clears an inherited one). */
export function runEnvFor(values: Partial<Record<RunEnvName, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [RUN_ENV[name as RunEnvName], value ?? '']),
  );
}
