/** Files the run's global setup leaves in the report dir for the reporter, each carrying the run id. */

/** The target's facts and run metadata: `{ runId, properties, facts }`. */
export const RUN_CONTEXT_FILE = 'run-context.json';

/** Why the global setup (lab, preflight) failed: `{ runId, error }`. */
export const SETUP_ERROR_FILE = 'setup-error.json';
