/**
 * Checks of a release directory as phase 1 publishes it: `SHA256SUMS` holds, and the release tarball
 * carries exactly the loose `bin/` files. Each returns the problems found (empty: it holds).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** `SHA256SUMS` text (`<hex>  <path>` lines) -> file -> sha256, or the first line that is not one. */
export function parseSha256Sums(text: string): Map<string, string> | { bad: string } {
  const listed = new Map<string, string>();
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) return { bad: line };
    listed.set(m[2]!, m[1]!);
  }
  return listed;
}

/** The SHA256 `dir/SHA256SUMS` names for `name`; an error saying what is missing otherwise. */
export async function listedSha256(dir: string, name: string): Promise<string> {
  const file = join(dir, 'SHA256SUMS');
  if (!existsSync(file))
    throw new Error(`no SHA256SUMS in ${dir}: phase 1's output names its tarball's SHA256 there`);
  const listed = parseSha256Sums(await readFile(file, 'utf8'));
  if (!(listed instanceof Map)) throw new Error(`${file}: '${listed.bad}' is not '<sha256>  <file>'`);
  const sum = listed.get(name);
  if (!sum) throw new Error(`${file} does not list ${name}`);
  return sum;
}

/** `SHA256SUMS` lines (`<hex>  <path>`), each checked against the file beside it. */
export async function sha256SumsProblems(dir: string, required: readonly string[]): Promise<string[]> {
  const file = join(dir, 'SHA256SUMS');
  if (!existsSync(file)) return [`no SHA256SUMS in ${dir}`];
  const listed = parseSha256Sums(await readFile(file, 'utf8'));
  if (!(listed instanceof Map)) return [`SHA256SUMS: '${listed.bad}' is not '<sha256>  <file>'`];
  const problems = required.filter((f) => !listed.has(f)).map((f) => `SHA256SUMS does not list ${f}`);
  for (const [name, want] of listed) {
    const path = join(dir, name);
    if (!existsSync(path)) problems.push(`SHA256SUMS lists ${name}, which is missing`);
    else {
      const got = await sha256Of(path);
      if (got !== want) problems.push(`${name}: sha256 ${got}, SHA256SUMS says ${want}`);
    }
  }
  return problems;
}

/** The tarball's `bin/` entries are exactly `names`, byte for byte the loose files in `binDir`. */
export async function tarballProblems(
  tarball: string,
  binDir: string,
  names: readonly string[],
): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bka-tarball-'));
  try {
    const r = await execa('tar', ['-xzf', tarball, '-C', dir], { reject: false, all: true });
    if (r.failed) return [`${tarball} does not extract: ${(r.all ?? '').trim().split('\n').pop()}`];
    const inside = existsSync(join(dir, 'bin')) ? (await readdir(join(dir, 'bin'))).sort() : [];
    const problems: string[] = [];
    if (inside.join(' ') !== [...names].sort().join(' '))
      problems.push(
        `the tarball's bin/ holds [${inside.join(', ')}], expected [${[...names].sort().join(', ')}]`,
      );
    for (const n of names.filter((x) => inside.includes(x))) {
      const [a, b] = [await sha256Of(join(dir, 'bin', n)), await sha256Of(join(binDir, n))];
      if (a !== b) problems.push(`bin/${n} in the tarball (sha256 ${a}) differs from the loose ${n} (${b})`);
    }
    return problems;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The upstream version a release archive's name carries: `buildkit-v0.33.1.linux-riscv64.tar.gz`. */
export function versionFromArchiveName(name: string): string | undefined {
  return /buildkit-(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\.linux-[a-z0-9]+\.tar\.gz$/.exec(name)?.[1];
}
