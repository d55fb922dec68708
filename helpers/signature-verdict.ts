/**
 * What `cosign verify` said about one image, named: verified, or which kind of failure it saw (a tag
 * re-pointed away from the signed digest, a signature from another key, no signature at all; for a
 * keyless one also a certificate for another identity, a certificate from an authority not trusted,
 * no entry in the transparency log). Pure.
 */
import type { CommandResult } from './command-result.ts';

export type SignatureVerdict =
  | { verified: true; why: 'verified' }
  | {
      verified: false;
      why:
        | 're-pointed tag'
        | 'another key'
        | 'another identity'
        | 'untrusted certificate'
        | 'no log entry'
        | 'unsigned'
        | 'unreadable';
      detail: string;
    };

export function signatureVerdict(
  r: Pick<CommandResult, 'exitCode' | 'stderr' | 'stdout'>,
  digests: { signed: string; resolved: string | undefined },
): SignatureVerdict {
  const said = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-3).join(' ');
  // A tag that no longer names the signed digest fails whatever cosign says about its new image.
  if (digests.resolved && digests.resolved !== digests.signed)
    return {
      verified: false,
      why: 're-pointed tag',
      detail: `the tag resolves to ${digests.resolved}, not the signed ${digests.signed}${r.exitCode === 0 ? ' (and cosign verified the new image: it is signed too)' : `: ${said}`}`,
    };
  if (r.exitCode === 0) return { verified: true, why: 'verified' };
  if (/no signatures found/i.test(said)) return { verified: false, why: 'unsigned', detail: said };
  // Keyless: the certificate names someone else, or no trusted root issued it, or the log has no entry.
  if (/none of the expected identities matched|expected (identity|oidc issuer) not found/i.test(said))
    return { verified: false, why: 'another identity', detail: said };
  if (/certificate signed by unknown authority|cert verification failed/i.test(said))
    return { verified: false, why: 'untrusted certificate', detail: said };
  if (/not found in transparency log|rekor client not provided|offline verification failed/i.test(said))
    return { verified: false, why: 'no log entry', detail: said };
  if (/no matching signatures|invalid signature|verification error|failed to verify signature/i.test(said))
    return { verified: false, why: 'another key', detail: said };
  return { verified: false, why: 'unreadable', detail: said };
}
