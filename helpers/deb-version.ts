/**
 * A BuildKit version as a Debian package version, ordered as Debian orders versions (`dpkg
 * --compare-versions`): a release `v0.33.1` is `0.33.1`; a release candidate `v0.34.0-rc1` is
 * `0.34.0~rc1`, below `0.34.0`; a build between tags sorts above the tag it follows and below the next
 * release: `git describe`'s `v0.33.0-57-gabc1234` is `0.33.0+git57.abc1234`, a Go pseudo-version
 * `v0.34.0-0.20261120123456-abcdef123456` (a commit before v0.34.0) is `0.34.0~git20261120123456.abcdef123456`,
 * and a bare revision (no tag at all) is `0~git.<revision>`, below every release. A dirty tree (`-dirty`
 * or upstream's `.m`) adds `+dirty`. The Debian revision follows a hyphen.
 */

const DEB_UPSTREAM = /^[0-9][A-Za-z0-9.+~]*$/;

function upstream(version: string): string {
  let v = version.trim();
  let dirty = '';
  const d = /(?:-dirty|\.m)$/.exec(v);
  if (d) {
    dirty = '+dirty';
    v = v.slice(0, d.index);
  }
  const release = /^v?(\d+\.\d+\.\d+)(?:-((?:rc|alpha|beta)\.?\d+))?$/.exec(v);
  if (release) return `${release[1]}${release[2] ? `~${release[2].replace('.', '')}` : ''}${dirty}`;
  const pseudo = /^v?(\d+\.\d+\.\d+)-(?:(?:rc|alpha|beta)\.?\d+\.)?0\.(\d{14})-([0-9a-f]{12})$/.exec(v);
  if (pseudo) return `${pseudo[1]}~git${pseudo[2]}.${pseudo[3]}${dirty}`;
  const described = /^v?(\d+\.\d+\.\d+)(?:-((?:rc|alpha|beta)\.?\d+))?-(\d+)-g([0-9a-f]{7,40})$/.exec(v);
  if (described) {
    const pre = described[2] ? `~${described[2].replace('.', '')}` : '';
    return `${described[1]}${pre}+git${described[3]}.${described[4]}${dirty}`;
  }
  if (/^[0-9a-f]{7,40}$/.test(v)) return `0~git.${v}${dirty}`;
  throw new Error(
    `BuildKit version '${version}' is neither a release (v1.2.3, v1.2.3-rc1), git describe output (v1.2.3-4-gabc1234), a Go pseudo-version nor a revision`,
  );
}

/** `<upstream>-<revision>`; throws on a version it cannot place (never a guess). */
export function debianVersion(buildkitVersion: string, revision = '1'): string {
  if (!/^[0-9A-Za-z.+~]+$/.test(revision)) throw new Error(`Debian revision '${revision}' is not valid`);
  const up = upstream(buildkitVersion);
  if (!DEB_UPSTREAM.test(up)) throw new Error(`'${up}' is not a Debian upstream version`);
  return `${up}-${revision}`;
}

/** Debian's architecture name for a GOARCH (the ones BuildKit releases). */
export function debianArch(goarch: string): string {
  const arch: Record<string, string> = {
    riscv64: 'riscv64',
    amd64: 'amd64',
    arm64: 'arm64',
    arm: 'armhf',
    ppc64le: 'ppc64el',
    s390x: 's390x',
  };
  const a = arch[goarch];
  if (!a) throw new Error(`no Debian architecture for GOARCH ${goarch}`);
  return a;
}

/** The upstream part of a Debian version (`0.33.1` of `0.33.1-1`). */
export function debianUpstream(version: string): string {
  const i = version.lastIndexOf('-');
  return i < 0 ? version : version.slice(0, i);
}
