/** Files the run's global setup leaves in the report dir for the reporter, each carrying the run id. */

/** The target's facts and run metadata: `{ runId, properties, facts }`. */
export const RUN_CONTEXT_FILE = 'run-context.json';

/** Why the global setup (lab, preflight) failed: `{ runId, error }`. */
export const SETUP_ERROR_FILE = 'setup-error.json';

/**
 * The run's teardown swept the target and found nothing it could not remove: `{ runId }`. The CLI then
 * skips its own sweep (kept for a vitest that died before its teardown).
 */
export const SWEPT_FILE = 'swept.json';
