/** BuildKit release tags: `vX.Y.Z` only (no prerelease suffix, no `dockerfile/*`), in numeric order. */
export type Version = readonly [number, number, number];

const RELEASE_TAG = /^v(\d+)\.(\d+)\.(\d+)$/;

export function parseReleaseTag(tag: string): Version | undefined {
  const m = RELEASE_TAG.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The highest `vX.Y.Z` among the tags (v0.26.20 > v0.26.3), or undefined. */
export function highestRelease(tags: readonly string[]): string | undefined {
  let best: { tag: string; v: Version } | undefined;
  for (const tag of tags) {
    const v = parseReleaseTag(tag);
    if (v && (!best || compareVersions(v, best.v) > 0)) best = { tag, v };
  }
  return best?.tag;
}
