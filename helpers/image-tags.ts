/**
 * The image's tag convention: a BuildKit release `vX.Y.Z` (or a release candidate) is tagged
 * `vX.Y.Z-riscv64`; anything else (master, a commit, a Go pseudo-version such as
 * `v0.34.1-0.20261120101010-0123456789ab`, a `git describe` past a tag) is a development build, tagged
 * `latest` and `master-YYYYMMDD`.
 */
const RELEASE = /^v\d+\.\d+\.\d+(-rc\.?\d+)?$/;

export function isReleaseVersion(version: string): boolean {
  return RELEASE.test(version);
}

export function tagsFor(version: string, repository: string, now = new Date()): string[] {
  if (isReleaseVersion(version)) return [`${repository}:${version}-riscv64`];
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return [`${repository}:latest`, `${repository}:master-${day}`];
}

/** The tag a release's image must carry, from the version asked for (never from the image itself). */
export function releaseFromTag(tag: string): string | undefined {
  return /:(v\d+\.\d+\.\d+(?:-rc\.?\d+)?)-riscv64$/.exec(tag)?.[1];
}
