/**
 * Rekor's `POST /api/v1/log/entries` for `hashedrekord` 0.0.1 entries (what cosign 2.5 uploads),
 * standing in for rekor.sigstore.dev: the request is held to the published contract, the signature is
 * checked against the digest with the certificate's (or key's) P-256 key as Rekor checks it, and the
 * entry is answered with an RFC 6962 inclusion proof in the log's tree, a signed checkpoint and the
 * signed entry timestamp (SET) cosign keeps in the signature's bundle and verifies offline.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import {
  contractProblem,
  parseRequest,
  REKOR_LOG_ENTRY,
  REKOR_PROPOSED_HASHEDREKORD,
  REKOR_SEARCH_LOG_QUERY,
} from './contracts.ts';
import { p256Point, verifyP256Digest } from './p256.ts';
import { refuse, type StandinResponse } from './response.ts';
import { spki } from './x509.ts';

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leafHash = (b: Buffer) => sha256(Buffer.from([0]), b);
const nodeHash = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

/** RFC 6962 §2.1: the Merkle tree hash of `leaves` (leaf hashes). */
function root(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = split(leaves.length);
  return nodeHash(root(leaves.slice(0, k)), root(leaves.slice(k)));
}
/** RFC 6962 §2.1.1: the audit path of leaf `m`. */
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...path(m, leaves.slice(0, k)), root(leaves.slice(k))]
    : [...path(m - k, leaves.slice(k)), root(leaves.slice(0, k))];
}

/** RFC 8785 for what Rekor signs: objects with sorted keys, no whitespace (ASCII strings and integers). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** What Rekor stores: the entry canonicalized, only the fields its type defines. */
function canonicalEntry({ spec }: Proposed): Buffer {
  const entry = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: spec.data.hash },
      signature: {
        content: spec.signature.content,
        publicKey: { content: spec.signature.publicKey?.content },
      },
    },
  };
  return Buffer.from(canonicalJson(entry));
}

interface Proposed {
  apiVersion: string;
  spec: {
    signature: { content?: string; publicKey?: { content?: string } };
    data: { hash?: { algorithm: string; value: string } };
  };
}

export class RekorStandin {
  private readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private readonly treeId = '1193050959916656506';
  private readonly leaves: Buffer[] = [];
  /** Each entry as it was answered, by UUID (the leaf hash). */
  private readonly entries = new Map<string, Record<string, unknown>>();
  private readonly origin = 'rekor stand-in - 1193050959916656506';

  get publicKey(): KeyObject {
    return this.key.publicKey;
  }
  get publicKeyPem(): string {
    return this.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
  private get logId(): string {
    return sha256(spki(this.key.publicKey)).toString('hex');
  }

  createEntry(body: string): StandinResponse {
    let proposed: Proposed;
    try {
      proposed = parseRequest(body) as Proposed;
    } catch {
      return refuse(400, 'the body is not JSON');
    }
    const problem = contractProblem(REKOR_PROPOSED_HASHEDREKORD, proposed);
    if (problem) return refuse(400, `the proposed entry does not match hashedrekord: ${problem}`);
    if (proposed.apiVersion !== '0.0.1')
      return refuse(400, `hashedrekord ${proposed.apiVersion} is not served`);
    const invalid = this.invalid(proposed);
    if (invalid) return refuse(400, invalid);
    const canonical = canonicalEntry(proposed);
    const leaf = leafHash(canonical);
    const uuid = leaf.toString('hex');
    const location = `/api/v1/log/entries/${uuid}`;
    if (this.entries.has(uuid))
      return {
        ...refuse(409, 'an equivalent entry already exists in the transparency log'),
        headers: { location },
      };
    this.leaves.push(leaf);
    const logIndex = this.leaves.length - 1;
    const payload = {
      body: canonical.toString('base64'),
      integratedTime: Math.floor(Date.now() / 1000),
      logID: this.logId,
      logIndex,
    };
    const set = sign('sha256', Buffer.from(canonicalJson(payload)), this.key.privateKey).toString('base64');
    const treeSize = this.leaves.length;
    const rootHash = root(this.leaves);
    const response = {
      [this.entryId(uuid)]: {
        ...payload,
        verification: {
          signedEntryTimestamp: set,
          inclusionProof: {
            logIndex,
            rootHash: rootHash.toString('hex'),
            treeSize,
            hashes: path(logIndex, this.leaves).map((h) => h.toString('hex')),
            checkpoint: this.checkpoint(treeSize, rootHash),
          },
        },
      },
    };
    const own = contractProblem(REKOR_LOG_ENTRY, response);
    if (own) return refuse(500, `the stand-in's own LogEntry breaks the contract: ${own}`);
    this.entries.set(uuid, response);
    return {
      status: 201,
      headers: { 'content-type': 'application/json', etag: uuid, location },
      body: JSON.stringify(response),
    };
  }

  /**
   * `POST /api/v1/log/entries/retrieve` (SearchLogQuery) by proposed entries, as cosign looks up a
   * signature that carries no bundle: the LogEntry of each one in the log, `[]` when none is.
   */
  retrieve(body: string): StandinResponse {
    let query: { entries?: Proposed[]; entryUUIDs?: string[]; logIndexes?: number[] };
    try {
      query = parseRequest(body) as typeof query;
    } catch {
      return refuse(400, 'the body is not JSON');
    }
    const problem = contractProblem(REKOR_SEARCH_LOG_QUERY, query);
    if (problem) return refuse(422, `the query does not match SearchLogQuery: ${problem}`);
    const found = (query.entries ?? [])
      .map((e) => this.entries.get(leafHash(canonicalEntry(e)).toString('hex')))
      .filter((e) => e !== undefined);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(found) };
  }

  private entryId(uuid: string): string {
    return `${Number(this.treeId).toString(16).padStart(16, '0')}${uuid}`;
  }

  /** Why Rekor would refuse the entry (its hashedrekord v0.0.1 validation), or undefined. */
  private invalid({ spec }: Proposed): string | undefined {
    const hash = spec.data.hash;
    if (!hash) return 'missing digest';
    if (hash.algorithm !== 'sha256' || !/^[0-9a-f]{64}$/.test(hash.value))
      return `the stand-in logs sha256 digests (64 lower-case hex), not ${hash.algorithm}:${hash.value}`;
    if (!spec.signature.content) return 'missing signature';
    const keyPem = Buffer.from(spec.signature.publicKey?.content ?? '', 'base64').toString();
    let point: ReturnType<typeof p256Point>;
    try {
      point = p256Point(
        keyPem.includes('CERTIFICATE') ? new X509Certificate(keyPem) : createPublicKey(keyPem),
      );
    } catch (e) {
      return `the public key or certificate does not parse: ${(e as Error).message}`;
    }
    if (!point) return 'the stand-in verifies ECDSA P-256 signatures only';
    const sig = Buffer.from(spec.signature.content, 'base64');
    if (!verifyP256Digest(point, Buffer.from(hash.value, 'hex'), sig))
      return 'the signature does not verify the digest with the given key';
    return undefined;
  }

  /** A signed note (the checkpoint format Rekor writes): origin, size, root, then the signature line. */
  private checkpoint(size: number, rootHash: Buffer): string {
    const text = `${this.origin}\n${size}\n${rootHash.toString('base64')}\n`;
    const hint = sha256(spki(this.key.publicKey)).subarray(0, 4);
    const sig = sign('sha256', Buffer.from(text), this.key.privateKey);
    return `${text}\n\u2014 ${this.origin} ${Buffer.concat([hint, sig]).toString('base64')}\n`;
  }
}
