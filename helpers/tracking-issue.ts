/**
 * The upstream tracking issue each check serves, declared in the code as a vitest tag on the check or
 * its describe block, and carried into every report and into the issue closer. `extended` is a check
 * beyond #207-#210's acceptance (multi-node, proxy, containerd worker and the like): listed, never
 * closing anything by itself.
 */
export const SERVES = {
  '#207': 'issue-207',
  '#208': 'issue-208',
  '#209': 'issue-209',
  '#210': 'issue-210',
  extended: 'extended',
} as const;

export type Serves = keyof typeof SERVES;

/** vitest's tag definitions (strict: an undeclared tag is an error). */
export const ISSUE_TAGS: ReadonlyArray<{ name: string; description: string }> = [
  { name: SERVES['#207'], description: 'serves #207: the riscv64 binaries' },
  { name: SERVES['#208'], description: 'serves #208: the container image' },
  {
    name: SERVES['#209'],
    description: 'serves #209: standalone daemon, Buildx, multi-platform from riscv64, rootless, benchmarks',
  },
  { name: SERVES['#210'], description: 'serves #210: release tracking, workflows, packages' },
  {
    name: SERVES.extended,
    description: 'beyond #207-#210: multi-node, proxy, containerd worker and the like',
  },
];

/** The one issue a check's tags declare; a problem sentence when it declares none, or more than one. */
export function servedBy(tags: readonly string[]): { serves?: Serves; problem?: string } {
  const found = (Object.keys(SERVES) as Serves[]).filter((k) => tags.includes(SERVES[k]));
  if (found.length === 1) return { serves: found[0] };
  return {
    problem:
      found.length === 0
        ? `declares no tracking issue (a tag of ${Object.values(SERVES).join(', ')})`
        : `declares more than one tracking issue (${found.join(', ')})`,
  };
}
