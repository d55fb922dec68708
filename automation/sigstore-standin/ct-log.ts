/**
 * The certificate transparency log's part (RFC 6962): a signed certificate timestamp over a
 * precertificate entry, embedded in the certificate as Fulcio's are. cosign checks it with the log's
 * public key (`SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`) on both sign and verify.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { octets } from './der.ts';
import { type Extension, OID, spki } from './x509.ts';

const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export class CtLog {
  private readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  get publicKey(): KeyObject {
    return this.key.publicKey;
  }

  /** RFC 6962 §3.2: the log ID is the SHA-256 of the log's public key (SPKI DER). */
  get logId(): Buffer {
    return createHash('sha256').update(spki(this.key.publicKey)).digest();
  }

  /**
   * The SCT list extension for a certificate whose TBS without that extension is `tbs`, issued by the
   * key `issuerKey` (RFC 6962 §3.2: precert_entry, signed over the issuer key hash and that TBS).
   */
  sctListExtension(tbs: Buffer, issuerKey: KeyObject, at = Date.now()): Extension {
    const signed = Buffer.concat([
      Buffer.from([0, 0]), // v1, certificate_timestamp
      u64(at),
      u16(1), // precert_entry
      createHash('sha256').update(spki(issuerKey)).digest(),
      u24(tbs.length),
      tbs,
      u16(0), // no extensions
    ]);
    const sig = sign('sha256', signed, this.key.privateKey);
    const sct = Buffer.concat([
      Buffer.from([0]),
      this.logId,
      u64(at),
      u16(0),
      Buffer.from([4, 3]), // sha256, ecdsa
      u16(sig.length),
      sig,
    ]);
    const list = Buffer.concat([u16(sct.length + 2), u16(sct.length), sct]);
    return { oid: OID.sctList, value: octets(list) };
  }
}
