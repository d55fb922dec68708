/**
 * What is wrong with a pushed multi-platform image, against the platforms asked for: not an index, a
 * platform missing or extra, or an entry whose config is for another platform than the index says.
 * Attestation manifests are not platforms (pushedImage leaves them out and counts them).
 */
/** A pushed tag as the registry holds it (read by harness/docker/registry-http.ts). */
export interface PushedImage {
  digest: string | undefined;
  mediaType: string;
  /** `os/architecture[/variant]` of each manifest an index lists (attestations excluded), or of the image. */
  platforms: string[];
  configs: Array<{ architecture: string; os: string; variant?: string }>;
  /** What the index says each of those manifests is (same order as `configs`); empty for a single image. */
  indexPlatforms: string[];
  /** Index entries that are attestation manifests (`vnd.docker.reference.type: attestation-manifest`). */
  attestations: number;
}

/** arm64 is arm64/v8 wherever it is named: platforms are compared in that one form. */
export const normalPlatform = (p: string) => (p === 'linux/arm64' ? 'linux/arm64/v8' : p);

export function indexProblems(pushed: PushedImage, asked: readonly string[]): string[] {
  const problems: string[] = [];
  if (!/manifest\.list|image\.index/.test(pushed.mediaType))
    problems.push(`${pushed.mediaType || 'the pushed manifest'} is not an index or manifest list`);
  const listed = pushed.indexPlatforms.map(normalPlatform);
  const wanted = asked.map(normalPlatform);
  for (const p of wanted) if (!listed.includes(p)) problems.push(`${p} is missing from the index`);
  for (const p of listed)
    if (!wanted.includes(p)) problems.push(`the index lists ${p}, which was not asked for`);
  for (const p of new Set(listed))
    if (listed.filter((q) => q === p).length > 1) problems.push(`the index lists ${p} more than once`);
  for (const [i, p] of pushed.indexPlatforms.entries()) {
    const config = pushed.platforms[i] ?? '?';
    if (normalPlatform(config) !== normalPlatform(p))
      problems.push(`the index's ${p} entry is an image for ${config} (its config)`);
  }
  return problems;
}
