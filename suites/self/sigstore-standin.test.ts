/**
 * The Sigstore stand-in refuses what the real services refuse, and what it answers holds up: a Fulcio
 * certificate chains to its root and names the workflow; Rekor's inclusion proofs verify by RFC 9162's
 * algorithm (written here, independently of the stand-in's tree) and its SET by the log's key. cosign
 * itself checks the rest (the embedded SCT, the bundle) in the container phase on the target.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ActionsOidc } from '../../automation/sigstore-standin/actions-oidc.ts';
import { canonicalJson } from '../../automation/sigstore-standin/rekor.ts';
import { SigstoreStandin, UNTRUSTED } from '../../automation/sigstore-standin/server.ts';

const RUN = {
  repository: 'octo/buildkit-riscv64',
  workflowPath: '.github/workflows/buildkit-weekly-build.yml',
  ref: 'refs/heads/main',
  sha: 'a'.repeat(40),
  eventName: 'schedule',
};
const SUB = 'repo:octo/buildkit-riscv64:ref:refs/heads/main';

let standin: SigstoreStandin;
beforeAll(async () => {
  standin = await SigstoreStandin.start();
});
afterAll(async () => {
  await standin.stop();
  await standin.stop();
});

const post = (path: string, body: unknown, token?: string) =>
  fetch(`${standin.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const ephemeral = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const certRequest = (key: { publicKey: KeyObject; privateKey: KeyObject }, subject = SUB) => ({
  publicKey: {
    content: Buffer.from(key.publicKey.export({ type: 'spki', format: 'pem' })).toString('base64'),
  },
  signedEmailAddress: sign('sha256', Buffer.from(subject), key.privateKey).toString('base64'),
  certificateSigningRequest: null,
});

describe('the Fulcio stand-in', () => {
  test('issues a ten-minute code-signing certificate, chained to its root, naming the workflow and its issuer', async () => {
    const key = ephemeral();
    const res = await post('/api/v1/signingCert', certRequest(key), standin.token(RUN));
    expect(res.status, await res.clone().text()).toBe(201);
    const [leafPem, rootPem] = (await res.text()).split(/(?<=-----END CERTIFICATE-----\n)/);
    const leaf = new X509Certificate(leafPem!);
    const root = new X509Certificate(rootPem!);
    expect(rootPem).toBe(standin.trust().fulcioRoot);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.3']);
    expect(leaf.subjectAltName).toBe(
      `URI:https://github.com/${RUN.repository}/${RUN.workflowPath}@${RUN.ref}`,
    );
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(600_000);
    expect(leaf.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      key.publicKey.export({ type: 'spki', format: 'der' }),
    );
    // 1.3.6.1.4.1.57264.1.1, the issuer as raw bytes; and an SCT list (1.3.6.1.4.1.11129.2.4.2).
    const raw = leaf.raw.toString('latin1');
    expect(raw).toContain('\x2b\x06\x01\x04\x01\x83\xbf\x30\x01\x01');
    expect(raw).toContain('https://token.actions.githubusercontent.com');
    expect(raw).toContain('\x2b\x06\x01\x04\x01\xd6\x79\x02\x04\x02');
  });

  test('refuses no token, a token from another key or for another audience, a proof for another subject, and a body off the contract', async () => {
    const key = ephemeral();
    const other = new ActionsOidc();
    const cases = [
      await post('/api/v1/signingCert', certRequest(key)),
      await post('/api/v1/signingCert', certRequest(key), other.mint(RUN)),
      await post('/api/v1/signingCert', certRequest(key), standin.token({ ...RUN })), // the same, well formed
      await post(
        '/api/v1/signingCert',
        certRequest(key, 'repo:someone/else:ref:refs/heads/main'),
        standin.token(RUN),
      ),
      await post('/api/v1/signingCert', { publicKey: { content: 42 } }, standin.token(RUN)),
      await post('/api/v1/signingCert', 'not json', standin.token(RUN)),
    ];
    expect(cases.map((r) => r.status)).toEqual([401, 401, 201, 400, 400, 400]);
    const said = await Promise.all(cases.map((r) => r.text()));
    expect(said[1]).toContain("not signed by https://token.actions.githubusercontent.com's key");
    expect(said[3]).toContain('proof of possession');
    expect(said[4]).toContain('fulciov1betaCreateSigningCertificateRequest');
    const wrongAudience = standin.token(RUN, 'someone-else');
    const r = await post('/api/v1/signingCert', certRequest(key), wrongAudience);
    expect([r.status, await r.text()]).toEqual([401, expect.stringContaining('audience is someone-else')]);
  });

  test('the untrusted authority issues from a root that is not in the trust files', async () => {
    const res = await post(`${UNTRUSTED}/api/v1/signingCert`, certRequest(ephemeral()), standin.token(RUN));
    expect(res.status).toBe(201);
    const leaf = new X509Certificate((await res.text()).split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(leaf.verify(new X509Certificate(standin.trust().fulcioRoot).publicKey)).toBe(false);
  });
});

const hash = (...b: Buffer[]) => createHash('sha256').update(Buffer.concat(b)).digest();
/** RFC 9162 §2.1.3.2: verify an inclusion proof (written from the RFC, not from the stand-in). */
function inclusionHolds(index: number, size: number, leaf: Buffer, proof: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = hash(Buffer.from([0]), leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hash(Buffer.from([1]), p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
    } else r = hash(Buffer.from([1]), r, p);
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 && r.equals(root);
}

interface LogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: { logIndex: number; treeSize: number; hashes: string[]; rootHash: string };
  };
}

describe('the Rekor stand-in', () => {
  const signed = (payload: string, key = ephemeral()) => {
    const digest = hash(Buffer.from(payload));
    return {
      kind: 'hashedrekord',
      apiVersion: '0.0.1',
      spec: {
        data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
        signature: {
          content: sign('sha256', Buffer.from(payload), key.privateKey).toString('base64'),
          publicKey: {
            content: Buffer.from(key.publicKey.export({ type: 'spki', format: 'pem' })).toString('base64'),
          },
        },
      },
    };
  };

  test('logs entries with a SET by its key and inclusion proofs that verify, and finds them again', async () => {
    const rekorKey = standin.trust().rekorKey;
    for (let i = 0; i < 5; i++) {
      const res = await post('/api/v1/log/entries', signed(`payload ${i}`));
      expect(res.status).toBe(201);
      const [entry] = Object.values((await res.json()) as Record<string, LogEntry>);
      const { body, integratedTime, logID, logIndex, verification } = entry!;
      const set = Buffer.from(verification.signedEntryTimestamp, 'base64');
      const payload = Buffer.from(canonicalJson({ body, integratedTime, logID, logIndex }));
      expect(verify('sha256', payload, rekorKey, set)).toBe(true);
      const p = verification.inclusionProof;
      const ok = inclusionHolds(
        p.logIndex,
        p.treeSize,
        Buffer.from(body, 'base64'),
        p.hashes.map((h) => Buffer.from(h, 'hex')),
        Buffer.from(p.rootHash, 'hex'),
      );
      expect(ok, `inclusion proof of entry ${p.logIndex} in a tree of ${p.treeSize}`).toBe(true);
    }
    const logged = signed('logged');
    await post('/api/v1/log/entries', logged);
    const found = await (
      await post('/api/v1/log/entries/retrieve', { entries: [logged], entryUUIDs: null })
    ).json();
    expect(found).toHaveLength(1);
    const none = await (
      await post('/api/v1/log/entries/retrieve', { entries: [signed('never logged')] })
    ).json();
    expect(none).toEqual([]);
  });

  test('refuses a signature that does not verify the digest, another hash, an entry off the contract, and a duplicate', async () => {
    const bad = signed('a');
    bad.spec.data.hash.value = hash(Buffer.from('b')).toString('hex');
    const sha1 = signed('a');
    sha1.spec.data.hash.algorithm = 'sha512';
    const dup = signed('dup');
    const statuses = [
      (await post('/api/v1/log/entries', bad)).status,
      (await post('/api/v1/log/entries', sha1)).status,
      (await post('/api/v1/log/entries', { kind: 'hashedrekord', apiVersion: '0.0.1' })).status,
      (await post('/api/v1/log/entries', { ...signed('x'), extra: 1 })).status,
      (await post('/api/v1/log/entries', dup)).status,
      (await post('/api/v1/log/entries', dup)).status,
    ];
    expect(statuses).toEqual([400, 400, 400, 400, 201, 409]);
    expect(standin.refusals.some((r) => r.includes('does not verify the digest'))).toBe(true);
  });
});
