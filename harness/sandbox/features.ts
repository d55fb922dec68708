/**
 * The closed list of capabilities a check may need, each decided once from the target's facts. A check
 * that needs one the target lacks is skipped with the reason (never silently, never counted as a pass:
 * a phase with a skip is INCOMPLETE). Modelled on BuildKit's `CheckFeatureCompat`.
 */
import { engineProblem } from '../docker/docker-engine.ts';
import type { TargetFacts } from '../docker/facts.ts';

export const FEATURES = [
  'root',
  'docker-group',
  'privileged-containers',
  'buildx',
  'cgroup-v2',
  'binfmt:linux/amd64',
  'binfmt:linux/arm64',
  'unprivileged-userns',
  'rootless',
  'systemd',
  'apt-packages',
  'containerd',
  'cosign',
] as const;
export type Feature = (typeof FEATURES)[number];

const BINFMT: Record<string, string> = { 'linux/amd64': 'qemu-x86_64', 'linux/arm64': 'qemu-aarch64' };

/** Why the target lacks `feature`, or undefined when it has it. */
export function missingFeature(facts: TargetFacts, feature: Feature): string | undefined {
  switch (feature) {
    case 'root':
      return facts.uid === 0 ? undefined : `${facts.user} is not root (uid ${facts.uid})`;
    case 'docker-group':
    case 'privileged-containers':
      if (facts.dockerServer) return undefined;
      return facts.dockerEngine
        ? engineProblem(facts.dockerEngine, facts.host, facts.user)
        : `no docker CLI on ${facts.host}`;
    case 'buildx':
      return facts.buildx ? undefined : `no docker buildx on ${facts.host}`;
    case 'cgroup-v2':
      return facts.cgroup === 'v2' ? undefined : `cgroup ${facts.cgroup} on ${facts.host}, not v2`;
    case 'unprivileged-userns':
      return facts.unprivilegedUserns
        ? undefined
        : `unprivileged user namespaces are refused on ${facts.host}`;
    case 'rootless':
      return facts.rootlessProblem;
    case 'cosign':
      return facts.cosign ? undefined : `no cosign on ${facts.host}`;
    case 'systemd':
      return facts.systemdProblem;
    case 'apt-packages':
      return facts.aptProblem;
    case 'containerd':
      return facts.containerdProblem;
    default: {
      const platform = feature.slice('binfmt:'.length);
      const entry = facts.binfmt.find((b) => b.name === BINFMT[platform]);
      if (!entry) return `no binfmt_misc entry for ${platform} (${BINFMT[platform]}) on ${facts.host}`;
      if (!entry.enabled) return `the binfmt_misc entry ${entry.name} is disabled`;
      if (!entry.flags.includes('F'))
        return `the binfmt_misc entry ${entry.name} lacks the F flag (flags '${entry.flags}'): emulation fails inside containers`;
      return undefined;
    }
  }
}

/**
 * Skips the running check, with the feature and its reason (`needs <feature>: <why>`), unless the target
 * has it. The reports carry the feature as `skip-feature`.
 */
export function requireFeature(skip: (note: string) => void, facts: TargetFacts, feature: Feature): void {
  const why = missingFeature(facts, feature);
  if (why) skip(`needs ${feature}: ${why}`);
}
