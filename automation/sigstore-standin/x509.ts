/**
 * X.509 v3 certificates (RFC 5280) as Fulcio writes them: ECDSA P-256 with SHA-256, written in DER
 * by hand so the TBS is exactly the bytes Go re-marshals (the embedded SCT is signed over it).
 */
import { createHash, type KeyObject, randomBytes, sign } from 'node:crypto';
import {
  bits,
  bool,
  type Der,
  explicit,
  implicit,
  int,
  octets,
  oid,
  seq,
  set,
  uint,
  utcTime,
  utf8,
} from './der.ts';

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
} as const;

export interface Extension {
  oid: string;
  critical?: boolean;
  /** The extnValue's content (DER of the extension's own type, or raw bytes for Fulcio's deprecated ones). */
  value: Buffer;
}

export const extension = (e: Extension): Der =>
  seq(oid(e.oid), ...(e.critical ? [bool(true)] : []), octets(e.value));

/** A Name of O and CN (an empty Name when both are absent: Fulcio's leaves have none). */
export function name(o?: { organization: string; commonName: string }): Der {
  if (!o) return seq();
  return seq(
    set(seq(oid(OID.organization), utf8(o.organization))),
    set(seq(oid(OID.commonName), utf8(o.commonName))),
  );
}

export const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });
/** RFC 5280 §4.2.1.2 (1): SHA-1 of the subjectPublicKey BIT STRING's bytes (the last 65 of a P-256 SPKI). */
export const keyId = (key: KeyObject): Buffer => createHash('sha1').update(spki(key).subarray(-65)).digest();

export const keyUsage = (usage: 'ca' | 'signing'): Extension => ({
  oid: OID.keyUsage,
  critical: true,
  // keyCertSign (5) and cRLSign (6); or digitalSignature (0). Trailing zero bits are not written.
  value: usage === 'ca' ? bits(Buffer.from([0x06]), 1) : bits(Buffer.from([0x80]), 7),
});
export const caConstraints: Extension = { oid: OID.basicConstraints, critical: true, value: seq(bool(true)) };
export const codeSigning: Extension = { oid: OID.extKeyUsage, value: seq(oid(OID.codeSigning)) };
export const subjectKeyId = (key: KeyObject): Extension => ({
  oid: OID.subjectKeyId,
  value: octets(keyId(key)),
});
export const authorityKeyId = (issuerKey: KeyObject): Extension => ({
  oid: OID.authorityKeyId,
  value: seq(implicit(0, keyId(issuerKey))),
});
/** A URI SAN; critical, as RFC 5280 asks when the subject is empty. */
export const uriSan = (uri: string): Extension => ({
  oid: OID.subjectAltName,
  critical: true,
  value: seq(implicit(6, Buffer.from(uri, 'ascii'))),
});

export interface TbsFields {
  serial: Buffer;
  issuer: Der;
  subject: Der;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: Extension[];
}

/** A positive 20-byte serial, as RFC 5280 allows at most. */
export function newSerial(): Buffer {
  const s = randomBytes(20);
  s[0] = ((s[0] ?? 1) & 0x7f) | 0x01;
  return s;
}

export function tbs(f: TbsFields): Der {
  return seq(
    explicit(0, int(2)),
    uint(f.serial),
    seq(oid(OID.ecdsaWithSha256)),
    f.issuer,
    seq(utcTime(f.notBefore), utcTime(f.notAfter)),
    f.subject,
    spki(f.publicKey),
    explicit(3, seq(...f.extensions.map(extension))),
  );
}

/** The certificate: the TBS signed by `issuerKey`, in DER. */
export function signTbs(tbsDer: Der, issuerKey: KeyObject): Der {
  return seq(tbsDer, seq(oid(OID.ecdsaWithSha256)), bits(sign('sha256', tbsDer, issuerKey)));
}

export const pem = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
