/**
 * Which name of a Debian release the lab is provisioned from.
 *
 * A Debian mirror caught mid-sync serves an InRelease that names index files it does not serve yet (seen
 * 2026-11-23: `dists/trixie` was 13.8's InRelease with 13.7's riscv64 `Packages.xz`, for days), while the
 * same release under another name (`dists/stable`, Codename trixie) was consistent. Before debootstrap,
 * each name of the release is checked the way apt would: its InRelease must be signed by a key of the
 * archive keyring (gpgv), say `Codename: <codename>`, and every architecture's `Packages.xz` must have
 * the size and SHA256 the InRelease gives. The first name that passes is used, and the choice with its
 * reason is recorded: nothing is trusted that apt would not trust.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface DebianIndex {
  /** The `dists/` name used upstream: the codename itself, or another name of the same release. */
  name: string;
  codename: string;
  version: string;
  date: string;
  /** Why this name: every name tried before it and what was wrong with it. */
  reason: string;
  mirror: string;
  checkedAt: string;
}

export interface ResolveOptions {
  mirror: string;
  codename: string;
  architectures: readonly string[];
  keyring?: string;
  /** Names tried after the codename. */
  aliases?: readonly string[];
  timeoutMs?: number;
}

export function releaseField(text: string, field: string): string | undefined {
  return new RegExp(`^${field}: *(.*)$`, 'm').exec(text)?.[1]?.trim();
}

/** `path -> {sha256, size}` from the SHA256 section of a Release file. */
export function releaseSha256(text: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  const section = /^SHA256:\n((?: .*\n?)*)/m.exec(text)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^ ([0-9a-f]{64}) +(\d+) +(\S+)$/.exec(line);
    if (m) out.set(m[3]!, { sha256: m[1]!, size: Number(m[2]) });
  }
  return out;
}

async function get(url: string, timeoutMs: number): Promise<Buffer> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** The verified text of an InRelease, or throws with gpgv's own words. */
export async function verifiedRelease(signed: Buffer, keyring: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bka-inrelease-'));
  try {
    await writeFile(join(dir, 'InRelease'), signed);
    const r = await execa(
      'gpgv',
      ['--keyring', keyring, '--output', join(dir, 'Release'), join(dir, 'InRelease')],
      { reject: false, all: true, timeout: 30_000 },
    );
    if (r.failed) {
      // Every line gpgv said (the key it looked for, a keyring it could not read, the verdict last).
      const lines = (r.all ?? '').trim().split('\n').filter(Boolean);
      const words = lines.length
        ? lines.map((l) => l.replace(/^gpgv: /, '')).join('; ')
        : `exit ${r.exitCode}`;
      throw new Error(`its signature does not verify against ${keyring} (${words})`);
    }
    return await readFile(join(dir, 'Release'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why `dists/<name>` is not a consistent, signed index of `codename`, or undefined when it is. */
async function problemWith(
  o: Required<Omit<ResolveOptions, 'aliases'>>,
  name: string,
): Promise<{ problem?: string; release?: string }> {
  const base = `${o.mirror.replace(/\/+$/, '')}/dists/${name}`;
  let release: string;
  try {
    release = await verifiedRelease(await get(`${base}/InRelease`, o.timeoutMs), o.keyring);
  } catch (err) {
    return { problem: `InRelease: ${(err as Error).message}` };
  }
  const codename = releaseField(release, 'Codename');
  if (codename !== o.codename)
    return { problem: `its Codename is ${codename ?? 'missing'}, not ${o.codename}` };
  const sums = releaseSha256(release);
  for (const arch of o.architectures) {
    const path = `main/binary-${arch}/Packages.xz`;
    const want = sums.get(path);
    if (!want) return { problem: `its InRelease lists no ${path}` };
    let body: Buffer;
    try {
      body = await get(`${base}/${path}`, o.timeoutMs);
    } catch (err) {
      return { problem: `${path}: ${(err as Error).message} (mirror mid-sync)` };
    }
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== want.sha256 || body.length !== want.size) {
      return {
        problem: `${path} is ${body.length} bytes (sha256 ${sha256.slice(0, 12)}…), its InRelease says ${want.size} bytes (${want.sha256.slice(0, 12)}…): mirror mid-sync`,
      };
    }
  }
  return { release };
}

/** The first name of the release whose index is signed, of the right codename and consistent. */
export async function resolveDebianIndex(options: ResolveOptions): Promise<DebianIndex> {
  const o = {
    mirror: options.mirror,
    codename: options.codename,
    architectures: options.architectures,
    keyring: options.keyring ?? DEBIAN_ARCHIVE_KEYRING,
    timeoutMs: options.timeoutMs ?? 5 * 60_000,
  };
  const names = [o.codename, ...(options.aliases ?? ['stable', 'oldstable', 'testing'])];
  const rejected: string[] = [];
  for (const name of names) {
    const { problem, release } = await problemWith(o, name);
    if (problem || !release) {
      rejected.push(`dists/${name}: ${problem}`);
      continue;
    }
    const version = releaseField(release, 'Version') ?? '';
    const date = releaseField(release, 'Date') ?? '';
    const checked = `signed, Codename ${o.codename}, Packages.xz of ${o.architectures.join(', ')} match`;
    return {
      name,
      codename: o.codename,
      version,
      date,
      mirror: o.mirror,
      checkedAt: new Date().toISOString(),
      reason: rejected.length
        ? `dists/${name} (${version}, ${date}) is used because ${rejected.join('; ')}; dists/${name} is ${checked}`
        : `dists/${name} (${version}, ${date}) is ${checked}`,
    };
  }
  throw new Error(
    `lab: no name of Debian ${o.codename} is consistent on ${o.mirror} (${rejected.join('; ')}): try again later, or pass --lab-debian-mirror URL for another mirror`,
  );
}

/**
 * The index recorded in `file` (so that every tree and disk of one cache uses the same one), or a new
 * resolution written there. A warm cache never asks the upstream mirror.
 */
export async function recordedDebianIndex(file: string, options: ResolveOptions): Promise<DebianIndex> {
  const saved = await readDebianIndex(file);
  if (saved?.codename === options.codename && saved.mirror === options.mirror) return saved;
  const index = await resolveDebianIndex(options);
  await writeFile(file, `${JSON.stringify(index, null, 2)}\n`);
  return index;
}

/** The record of a cache, or undefined when it has none (a cache made before indexes were recorded). */
export async function readDebianIndex(file: string): Promise<DebianIndex | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DebianIndex;
  } catch {
    return undefined;
  }
}
