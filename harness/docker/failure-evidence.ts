/**
 * Runs `fn`; when it fails, `evidence()` (daemon logs, container state: whatever says why) is appended to
 * the error's message. Quiet on success: the evidence is gathered only for a failure.
 */
export async function withFailureEvidence<T>(
  fn: () => Promise<T>,
  evidence: () => Promise<string>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error) err.message = `${err.message}\n\n${await evidence()}`;
    throw err;
  }
}
