/**
 * `buildctl build` of a Dockerfile directory (context and Dockerfile in one dir), plain progress, to one
 * output (`type=oci,dest=FILE`, `type=local,dest=DIR`, ...): the argv BuildKit's own docs give.
 */
export function dockerfileBuild(dir: string, output: string): string[] {
  return [
    ...['build', '--progress', 'plain', '--frontend', 'dockerfile.v0'],
    ...['--local', `context=${dir}`, '--local', `dockerfile=${dir}`, '--output', output],
  ];
}
