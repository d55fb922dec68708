/**
 * ECDSA P-256 verification of a prehashed message (FIPS 186-4 §6.4.2). Rekor checks a hashedrekord's
 * signature against the digest it was given, never the artifact; Node's crypto always hashes its input,
 * so the stand-in does the arithmetic. Public values only: no constant time needed.
 */
import { type KeyObject, X509Certificate } from 'node:crypto';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};
type Point = { x: bigint; y: bigint } | null;

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function pow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (let x = mod(b, m), k = e; k > 0n; k >>= 1n, x = (x * x) % m) if (k & 1n) r = (r * x) % m;
  return r;
}
const inv = (a: bigint, m: bigint) => pow(a, m - 2n, m);

function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  if (p.x === q.x && mod(p.y + q.y, P) === 0n) return null;
  const l =
    p.x === q.x && p.y === q.y
      ? mod((3n * p.x * p.x + A) * inv(2n * p.y, P), P)
      : mod((q.y - p.y) * inv(q.x - p.x, P), P);
  const x = mod(l * l - p.x - q.x, P);
  return { x, y: mod(l * (p.x - x) - p.y, P) };
}

function mul(k: bigint, p: Point): Point {
  let r: Point = null;
  for (let q = p, e = k; e > 0n; e >>= 1n, q = add(q, q)) if (e & 1n) r = add(r, q);
  return r;
}

const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);

/** r and s of a DER `ECDSA-Sig-Value`, or undefined when it is not one. */
function rs(sig: Buffer): { r: bigint; s: bigint } | undefined {
  if (sig[0] !== 0x30 || sig[1] !== sig.length - 2 || sig[2] !== 0x02) return undefined;
  const rl = sig[3] ?? 0;
  const r = sig.subarray(4, 4 + rl);
  if (sig[4 + rl] !== 0x02) return undefined;
  const sl = sig[5 + rl] ?? 0;
  const s = sig.subarray(6 + rl, 6 + rl + sl);
  if (6 + rl + sl !== sig.length) return undefined;
  return { r: big(r), s: big(s) };
}

/** The P-256 point of a public key (or a certificate's), or undefined for any other kind of key. */
export function p256Point(key: KeyObject | X509Certificate): { x: bigint; y: bigint } | undefined {
  const k = key instanceof X509Certificate ? key.publicKey : key;
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return undefined;
  const jwk = k.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) return undefined;
  return { x: big(Buffer.from(jwk.x, 'base64url')), y: big(Buffer.from(jwk.y, 'base64url')) };
}

/** Whether `sig` (DER) is a P-256 signature of `digest` (SHA-256, 32 bytes) by `q`. */
export function verifyP256Digest(q: { x: bigint; y: bigint }, digest: Buffer, sig: Buffer): boolean {
  const v = rs(sig);
  if (!v || v.r <= 0n || v.r >= N || v.s <= 0n || v.s >= N || digest.length !== 32) return false;
  const w = inv(v.s, N);
  const e = big(digest);
  const point = add(mul(mod(e * w, N), G), mul(mod(v.r * w, N), q));
  return point !== null && mod(point.x, N) === v.r;
}
