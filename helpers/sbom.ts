/**
 * An SPDX 2.x JSON SBOM (BuildKit's `https://spdx.dev/Document` attestation) read as packages, and the
 * verdict against what the image holds and what was asked for. Pure; tested on captured statements.
 */

export const SPDX_PREDICATE = 'https://spdx.dev/Document';

export interface SbomPackage {
  name: string;
  version: string | undefined;
  /** The package URL (`pkg:deb/debian/tini@0.19.0-1?arch=riscv64`, `pkg:golang/...`). */
  purl: string | undefined;
  /** Where the scanner found it (SPDX `sourceInfo`). */
  sourceInfo: string;
}

type Json = Record<string, unknown>;

export function sbomPackages(doc: Json): SbomPackage[] {
  const pkgs = Array.isArray(doc.packages) ? (doc.packages as Json[]) : [];
  return pkgs.map((p) => {
    const refs = Array.isArray(p.externalRefs) ? (p.externalRefs as Json[]) : [];
    const purl = refs.find((r) => r.referenceType === 'purl')?.referenceLocator;
    return {
      name: String(p.name ?? ''),
      version: typeof p.versionInfo === 'string' ? p.versionInfo : undefined,
      purl: typeof purl === 'string' ? purl : undefined,
      sourceInfo: String(p.sourceInfo ?? ''),
    };
  });
}

/** The packages a Dockerfile's `apt-get install` lines ask for (options and continuations skipped). */
export function requestedDebianPackages(dockerfile: string): string[] {
  const joined = dockerfile.replace(/\\\n/g, ' ');
  const names = new Set<string>();
  for (const m of joined.matchAll(/apt-get\b[^;&|]*?\binstall\b([^;&|]*)/g))
    for (const word of m[1]!.trim().split(/\s+/)) if (/^[a-z0-9][a-z0-9+.-]+$/.test(word)) names.add(word);
  return [...names];
}

/** `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'` -> the installed packages. */
export function parseDpkgQuery(out: string): Array<{ name: string; version: string }> {
  return out
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length >= 3 && f[2]!.trim() === 'ii')
    .map(([name, version]) => ({ name: name!, version: version! }));
}

export interface SbomExpectation {
  /** Every package dpkg lists as installed in the image, with its version. */
  installed: Array<{ name: string; version: string }>;
  /** The packages the Dockerfile asked for: each must be among them, by name. */
  requested: string[];
  /** The Go main module of the binaries, at the asked version, found in each of these files. */
  goModule: { path: string; version: string; binaries: string[] };
}

const debOf = (p: SbomPackage) => (p.purl?.startsWith('pkg:deb/') ? p : undefined);

/** What the SBOM leaves out or gets wrong; empty when it agrees. */
export function sbomProblems(pkgs: SbomPackage[], want: SbomExpectation): string[] {
  const problems: string[] = [];
  const debs = new Map<string, SbomPackage[]>();
  for (const p of pkgs.filter(debOf)) debs.set(p.name, [...(debs.get(p.name) ?? []), p]);
  if (want.installed.length === 0) problems.push('dpkg lists no installed package in the image');
  for (const need of want.requested)
    if (!want.installed.some((i) => i.name === need))
      problems.push(`the Dockerfile asks for ${need}, which dpkg does not list in the image`);
  for (const i of want.installed) {
    const found = debs.get(i.name);
    if (!found) problems.push(`${i.name} ${i.version} (installed) is not in the SBOM`);
    else if (!found.some((p) => p.version === i.version))
      problems.push(
        `${i.name} is ${i.version} in the image, ${found.map((p) => p.version).join(', ')} in the SBOM`,
      );
  }
  // Its package URL has no @version when the scanner could not tell one.
  const go = pkgs.filter((p) => p.purl?.split('@')[0] === `pkg:golang/${want.goModule.path}`);
  for (const bin of want.goModule.binaries) {
    const at = go.filter((p) => p.sourceInfo.split(/[\s,:]+/).includes(bin));
    if (at.length === 0)
      problems.push(
        `${want.goModule.path} is not listed for ${bin} (Go packages: ${go.map((p) => `${p.version} ${p.sourceInfo}`).join('; ') || 'none'})`,
      );
    else if (!at.some((p) => p.version === want.goModule.version))
      problems.push(
        `${bin} is listed as ${want.goModule.path} ${at.map((p) => p.version).join(', ')}, not ${want.goModule.version}`,
      );
  }
  return problems;
}
