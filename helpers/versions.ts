/** `buildkitd github.com/moby/buildkit v0.34.2 <revision>`: the line Buildx reads. */
export interface BuildkitVersionLine {
  binary: string;
  package: string;
  version: string;
  revision: string;
}

export function parseBuildkitVersion(line: string): BuildkitVersionLine | undefined {
  const m = /^(\S+) (\S+) (v\S+) (\S+)\s*$/.exec(line.trim());
  if (!m) return undefined;
  return { binary: m[1]!, package: m[2]!, version: m[3]!, revision: m[4]! };
}
