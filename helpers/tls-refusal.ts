import { type CommandResult, formatEvidence } from './command-result.ts';

/** What a TLS server answers a client it refuses (Go's crypto/tls alerts, as the client reports them). */
export const TLS_REFUSAL =
  /remote error: tls: (certificate required|bad certificate|unknown certificate authority)/;

/**
 * Why `probe` (buildctl with the client material of `who`) does not show the daemon refusing it with a
 * TLS alert: it was served, or it failed for another reason (a refusal must be the TLS handshake's).
 */
export function tlsRefusalProblem(probe: CommandResult, who: string): string | undefined {
  if (!probe.failed) return `the daemon served a client ${who}:\n${formatEvidence(probe)}`;
  if (!TLS_REFUSAL.test(probe.stderr))
    return `the client ${who} failed, but not with a TLS refusal:\n${formatEvidence(probe)}`;
  return undefined;
}
