/**
 * The verdict on what a pushed image carries (BuildKit's attestation storage, read back through the
 * registry): the platform's image, and a provenance and an SBOM statement naming it as their subject.
 * Pure: the reading is harness/docker/registry-http.ts's.
 */

export interface AttachedImage {
  platform: string;
  digest: string;
  statements: Array<{ predicateType: string; statement: Record<string, unknown> }>;
}

export function attestationProblems(
  images: AttachedImage[],
  platform: string,
  predicateTypes: readonly string[],
): string[] {
  const image = images.find((i) => i.platform === platform);
  if (!image)
    return [`no ${platform} image in it (${images.map((i) => i.platform).join(', ') || 'nothing'})`];
  const problems: string[] = [];
  for (const type of predicateTypes) {
    const found = image.statements.filter((s) => s.predicateType === type);
    if (found.length === 0) problems.push(`no ${type} statement is attached to the ${platform} image`);
    for (const s of found) {
      const subjects = Array.isArray(s.statement.subject)
        ? (s.statement.subject as Array<{ digest?: { sha256?: string } }>)
        : [];
      if (!subjects.some((x) => `sha256:${x.digest?.sha256}` === image.digest))
        problems.push(`the ${type} statement's subject is not the ${platform} image ${image.digest}`);
    }
  }
  return problems;
}
