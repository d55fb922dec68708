/**
 * GitHub Actions' OIDC token issuer, standing in for `https://token.actions.githubusercontent.com`:
 * RS256 JWTs with the claims GitHub documents for a workflow run ("About security hardening with
 * OpenID Connect"), requested with the audience `sigstore` as cosign asks. Its signing key is trusted
 * by the stand-in Fulcio only, as the real Fulcio trusts the real issuer's JWKS.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';

export const ACTIONS_ISSUER_URL = 'https://token.actions.githubusercontent.com';

/** Who ran: the repository, its workflow file, the ref and commit, and why it ran. */
export interface WorkflowRun {
  repository: string;
  workflowPath: string;
  ref: string;
  sha: string;
  eventName: string;
}

/** The claims GitHub's documentation lists for a job's ID token (all strings but the times). */
const STRING_CLAIMS = [
  'jti',
  'sub',
  'ref',
  'sha',
  'repository',
  'repository_owner',
  'repository_owner_id',
  'repository_id',
  'repository_visibility',
  'run_id',
  'run_number',
  'run_attempt',
  'runner_environment',
  'actor',
  'actor_id',
  'workflow',
  'workflow_ref',
  'workflow_sha',
  'event_name',
  'ref_type',
  'job_workflow_ref',
  'job_workflow_sha',
  'iss',
] as const;
export type ActionsClaims = Record<(typeof STRING_CLAIMS)[number], string> & {
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
};

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class ActionsOidc {
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly kid = createHash('sha256')
    .update(this.key.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 40);

  /** A token for `run`, valid for five minutes as GitHub's are (`aud` is what was asked for). */
  mint(run: WorkflowRun, audience = 'sigstore'): string {
    const now = Math.floor(Date.now() / 1000);
    const owner = run.repository.split('/')[0] ?? '';
    const workflowRef = `${run.repository}/${run.workflowPath}@${run.ref}`;
    const claims: ActionsClaims = {
      jti: randomUUID(),
      sub: `repo:${run.repository}:ref:${run.ref}`,
      aud: audience,
      ref: run.ref,
      sha: run.sha,
      repository: run.repository,
      repository_owner: owner,
      repository_owner_id: '1001',
      repository_id: '2002',
      repository_visibility: 'public',
      run_id: String(now),
      run_number: '1',
      run_attempt: '1',
      runner_environment: 'self-hosted',
      actor: owner,
      actor_id: '1001',
      workflow: run.workflowPath.replace(/^.*\//, ''),
      workflow_ref: workflowRef,
      workflow_sha: run.sha,
      event_name: run.eventName,
      ref_type: run.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      job_workflow_ref: workflowRef,
      job_workflow_sha: run.sha,
      iss: ACTIONS_ISSUER_URL,
      nbf: now - 5,
      iat: now,
      exp: now + 300,
    };
    const head = b64u(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: this.kid }));
    const body = b64u(JSON.stringify(claims));
    return `${head}.${body}.${b64u(sign('sha256', Buffer.from(`${head}.${body}`), this.key.privateKey))}`;
  }

  /**
   * The token's claims when this issuer signed it for `audience` and it is current, else why not (as
   * Fulcio checks an ID token: signature by the issuer's key, `iss`, `aud`, `exp`, then the claims its
   * github-workflow type reads).
   */
  verify(token: string, audience: string): ActionsClaims | string {
    const parts = token.split('.');
    if (parts.length !== 3) return 'the bearer token is not a JWS compact serialization';
    const [head = '', body = '', sig = ''] = parts;
    let header: { alg?: string; kid?: string };
    let claims: Partial<ActionsClaims>;
    try {
      header = JSON.parse(Buffer.from(head, 'base64url').toString());
      claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    } catch {
      return 'the bearer token is not JSON';
    }
    if (header.alg !== 'RS256') return `the token is signed with ${header.alg}, not RS256`;
    if (!verify('sha256', Buffer.from(`${head}.${body}`), this.key.publicKey, Buffer.from(sig, 'base64url')))
      return `the token is not signed by ${ACTIONS_ISSUER_URL}'s key`;
    if (claims.iss !== ACTIONS_ISSUER_URL) return `the token's issuer is ${claims.iss}`;
    if (claims.aud !== audience) return `the token's audience is ${claims.aud}, not ${audience}`;
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp < now) return 'the token has expired';
    if (typeof claims.nbf === 'number' && claims.nbf > now + 60) return 'the token is not valid yet';
    const missing = STRING_CLAIMS.filter((c) => typeof claims[c] !== 'string' || claims[c] === '');
    if (missing.length) return `the token lacks the claims ${missing.join(', ')}`;
    return claims as ActionsClaims;
  }
}
