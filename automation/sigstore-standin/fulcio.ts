/**
 * Fulcio's legacy API (`POST /api/v1/signingCert`, what cosign 2.5 calls), standing in for
 * fulcio.sigstore.dev with an ephemeral root. It does what Fulcio does for a `github-workflow` issuer:
 * checks the request against the published contract, the bearer token against GitHub Actions' issuer
 * (here, the stand-in's), and the proof of possession (the token's subject signed with the key); then
 * issues a ten-minute code-signing certificate whose SAN and 1.3.6.1.4.1.57264.1.* extensions come
 * from the token's claims as Fulcio's `ci-issuer-metadata` templates write them, with an SCT embedded.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import type { ActionsClaims, ActionsOidc } from './actions-oidc.ts';
import { contractProblem, FULCIO_SIGNING_CERT_REQUEST, parseRequest } from './contracts.ts';
import type { CtLog } from './ct-log.ts';
import { utf8 } from './der.ts';
import { refuse, type StandinResponse } from './response.ts';
import {
  authorityKeyId,
  caConstraints,
  codeSigning,
  type Extension,
  keyUsage,
  name,
  newSerial,
  pem,
  signTbs,
  subjectKeyId,
  tbs,
  uriSan,
} from './x509.ts';

const FULCIO = '1.3.6.1.4.1.57264.1';
/** Fulcio's github-workflow extensions: deprecated ones hold the raw string, the rest a DER UTF8String. */
function workflowExtensions(c: ActionsClaims): Extension[] {
  const url = 'https://github.com';
  const raw = (n: number, v: string): Extension => ({ oid: `${FULCIO}.${n}`, value: Buffer.from(v, 'utf8') });
  const der = (n: number, v: string): Extension => ({ oid: `${FULCIO}.${n}`, value: utf8(v) });
  return [
    raw(1, c.iss),
    raw(2, c.event_name),
    raw(3, c.sha),
    raw(4, c.workflow),
    raw(5, c.repository),
    raw(6, c.ref),
    der(8, c.iss),
    der(9, `${url}/${c.job_workflow_ref}`),
    der(10, c.job_workflow_sha),
    der(11, c.runner_environment),
    der(12, `${url}/${c.repository}`),
    der(13, c.sha),
    der(14, c.ref),
    der(15, c.repository_id),
    der(16, `${url}/${c.repository_owner}`),
    der(17, c.repository_owner_id),
    der(18, `${url}/${c.workflow_ref}`),
    der(19, c.workflow_sha),
    der(20, c.event_name),
    der(21, `${url}/${c.repository}/actions/runs/${c.run_id}/attempts/${c.run_attempt}`),
    der(22, c.repository_visibility),
  ];
}

export class FulcioStandin {
  private readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private readonly subject: Buffer;
  /** The self-signed root, valid for a day: cosign trusts it through `SIGSTORE_ROOT_FILE`. */
  readonly rootPem: string;

  constructor(
    private readonly issuer: ActionsOidc,
    private readonly ct: CtLog,
    commonName = 'sigstore stand-in',
  ) {
    this.subject = name({ organization: 'buildkit-riscv64-acceptance', commonName });
    const now = Date.now();
    const rootTbs = tbs({
      serial: newSerial(),
      issuer: this.subject,
      subject: this.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 86_400_000),
      publicKey: this.key.publicKey,
      extensions: [keyUsage('ca'), caConstraints, subjectKeyId(this.key.publicKey)],
    });
    this.rootPem = pem(signTbs(rootTbs, this.key.privateKey));
  }

  signingCert(authorization: string | undefined, body: string): StandinResponse {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return refuse(401, 'no bearer token in the Authorization header');
    let request: { publicKey?: { content?: string; algorithm?: string }; signedEmailAddress?: string };
    try {
      request = parseRequest(body) as typeof request;
    } catch {
      return refuse(400, 'the body is not JSON');
    }
    const problem = contractProblem(FULCIO_SIGNING_CERT_REQUEST, request);
    if (problem)
      return refuse(
        400,
        `the request does not match fulciov1betaCreateSigningCertificateRequest: ${problem}`,
      );
    const claims = this.issuer.verify(token, 'sigstore');
    if (typeof claims === 'string') return refuse(401, claims);
    if (!request.publicKey?.content || !request.signedEmailAddress)
      return refuse(400, 'the stand-in takes a public key with its proof of possession (no CSR)');
    let key: KeyObject;
    try {
      key = createPublicKey(Buffer.from(request.publicKey.content, 'base64').toString());
    } catch (e) {
      return refuse(400, `the public key does not parse: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      return refuse(400, "the stand-in issues for ECDSA P-256 keys (cosign's default) only");
    // The github-workflow principal's name is the token's subject; the proof is that, signed.
    if (!verify('sha256', Buffer.from(claims.sub), key, Buffer.from(request.signedEmailAddress, 'base64')))
      return refuse(400, `the proof of possession is not a signature of the token's subject ${claims.sub}`);
    return {
      status: 201,
      headers: { 'content-type': 'application/pem-certificate-chain' },
      body: this.issue(key, claims),
    };
  }

  private issue(key: KeyObject, claims: ActionsClaims): string {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const fields = {
      serial: newSerial(),
      issuer: this.subject,
      subject: name(),
      notBefore: new Date(now),
      notAfter: new Date(now + 600_000),
      publicKey: key,
      extensions: [
        keyUsage('signing'),
        codeSigning,
        subjectKeyId(key),
        authorityKeyId(this.key.publicKey),
        uriSan(`https://github.com/${claims.job_workflow_ref}`),
        ...workflowExtensions(claims),
      ],
    };
    const sct = this.ct.sctListExtension(tbs(fields), this.key.publicKey);
    const leaf = signTbs(tbs({ ...fields, extensions: [...fields.extensions, sct] }), this.key.privateKey);
    return pem(leaf) + this.rootPem;
  }
}
