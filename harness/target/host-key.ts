import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** `SHA256:<base64>` as OpenSSH prints it (ssh-keygen -lf), from the raw public key blob. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export function keyTypeOf(keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('ascii');
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface KnownHostsEntry {
  patterns: string[];
  keyType: string;
  key: string;
  revoked: boolean;
}

export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      revoked = fields[0] === '@revoked';
      if (fields[0] !== '@revoked') {
        fields.shift();
        continue; // @cert-authority lines are not host keys
      }
      fields.shift();
    }
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key) continue;
    entries.push({ patterns: hosts.split(','), keyType, key, revoked });
  }
  return entries;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  if (pattern.includes('*') || pattern.includes('?')) {
    const re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    return re.test(name);
  }
  return pattern === name;
}

export type HostKeyVerdict =
  | { ok: true; how: string }
  | { ok: false; reason: 'unknown' | 'changed' | 'revoked' | 'mismatch'; sentence: string };

export interface HostKeyPolicy {
  /** A pinned `SHA256:...` fingerprint: the only key accepted. */
  pinnedFingerprint?: string;
  knownHostsFiles: string[];
  /** Loudly named opt-in: accept and record a key never seen before (never a changed one). */
  acceptNewHostKey?: boolean;
}

export async function verifyHostKey(
  keyBlob: Buffer,
  host: string,
  port: number,
  policy: HostKeyPolicy,
): Promise<HostKeyVerdict> {
  const fp = fingerprint(keyBlob);
  const display = knownHostsName(host, port);
  if (policy.pinnedFingerprint) {
    if (policy.pinnedFingerprint.replace(/=+$/, '') === fp)
      return { ok: true, how: `pinned fingerprint ${fp}` };
    return {
      ok: false,
      reason: 'mismatch',
      sentence: `the host key of ${display} is ${fp}, not the pinned ${policy.pinnedFingerprint}; refusing to connect`,
    };
  }
  const keyType = keyTypeOf(keyBlob);
  const keyB64 = keyBlob.toString('base64');
  let sawHost = false;
  for (const file of policy.knownHostsFiles) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const entry of parseKnownHosts(text)) {
      const negated = entry.patterns.some((p) => p.startsWith('!') && patternMatches(p.slice(1), display));
      if (negated || !entry.patterns.some((p) => patternMatches(p, display))) continue;
      if (entry.revoked && entry.key === keyB64) {
        return {
          ok: false,
          reason: 'revoked',
          sentence: `the host key of ${display} (${fp}) is revoked in ${file}`,
        };
      }
      if (entry.revoked) continue;
      if (entry.keyType === keyType && entry.key === keyB64) return { ok: true, how: `known_hosts ${file}` };
      if (entry.keyType === keyType) sawHost = true;
    }
  }
  if (sawHost) {
    return {
      ok: false,
      reason: 'changed',
      sentence: `the host key of ${display} has CHANGED (now ${fp}); refusing to connect: check the host, then update known_hosts`,
    };
  }
  if (policy.acceptNewHostKey && policy.knownHostsFiles[0]) {
    const file = policy.knownHostsFiles[0];
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, `${display} ${keyType} ${keyB64}\n`);
    process.stderr.write(
      `WARNING: accepted the NEW host key of ${display} (${fp}) and recorded it in ${file}\n`,
    );
    return { ok: true, how: `accepted new key (recorded in ${file})` };
  }
  return {
    ok: false,
    reason: 'unknown',
    sentence: `the host key of ${display} (${fp}) is unknown: add it to known_hosts, pin it with --host-key-fingerprint ${fp}, or pass --insecure-accept-new-host-key`,
  };
}
