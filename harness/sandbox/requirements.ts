/**
 * What a runner must grant for every phase to run, each checked from the target's facts, and for each
 * missing one the command that fixes it: within the runner's sudo (apt-get, systemctl) where it can be,
 * else named as an administrator's one-time step. `doctor` prints them; the README's front page lists the same table.
 */
import type { TargetFacts } from '../docker/facts.ts';
import { type Feature, missingFeature } from './features.ts';

export interface Requirement {
  /** What it is for. */
  need: string;
  feature: Feature;
  /** The command that grants it (a runner's sudo, or an administrator's). */
  fix: (user: string) => string;
}

/** Every feature a phase checks for, in the order a runner is usually set up. */
export const REQUIREMENTS: readonly Requirement[] = [
  {
    need: 'the container, buildx and multiplatform phases run containers',
    feature: 'docker-group',
    fix: (u) => `an administrator, once: sudo usermod -aG docker ${u} (then restart the runner service)`,
  },
  {
    need: 'the buildx and multiplatform phases drive Docker Buildx',
    feature: 'buildx',
    fix: () => "sudo apt-get install docker-buildx-plugin (Docker's repository) or docker-buildx (Debian's)",
  },
  {
    need: 'the buildx systemd check installs a unit',
    feature: 'systemd',
    fix: (u) => `an administrator, once: allow ${u} 'sudo -n systemctl' (sudoers NOPASSWD)`,
  },
  {
    need: 'the binaries phase installs, upgrades and removes the Debian package',
    feature: 'apt-packages',
    fix: (u) => `an administrator, once: allow ${u} 'sudo -n apt-get' and 'sudo -n dpkg' (sudoers NOPASSWD)`,
  },
  {
    need: 'the buildx containerd-worker check reaches containerd',
    feature: 'containerd',
    fix: () => 'sudo apt-get install containerd (a system containerd on /run/containerd/containerd.sock)',
  },
  {
    need: 'the multiplatform phase emulates amd64',
    feature: 'binfmt:linux/amd64',
    fix: () => 'sudo apt-get install qemu-user-binfmt (registers qemu-x86_64 with the F flag)',
  },
  {
    need: 'the multiplatform phase emulates arm64',
    feature: 'binfmt:linux/arm64',
    fix: () => 'sudo apt-get install qemu-user-binfmt (registers qemu-aarch64 with the F flag)',
  },
  {
    need: "the container phase verifies the image's signature",
    feature: 'cosign',
    fix: () =>
      'sudo apt-get install cosign (Debian trixie builds it for riscv64; scripts/setup.sh installs it)',
  },
  {
    need: 'the rootless phase runs buildkitd in a user namespace',
    feature: 'unprivileged-userns',
    fix: () => 'an administrator, once: sudo sysctl -w kernel.unprivileged_userns_clone=1 (and persist it)',
  },
  {
    need: 'the rootless phase runs rootlesskit buildkitd',
    feature: 'rootless',
    fix: (u) =>
      `sudo apt-get install uidmap rootlesskit slirp4netns; a subordinate range, once, by an administrator: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${u}`,
  },
];

export interface UnmetRequirement {
  need: string;
  /** A check feature, or `http-proxy` (doctor's: the proxy runs where the suite does, not on the target). */
  feature: Feature | 'http-proxy';
  why: string;
  fix: string;
}

/** The requirements the target does not meet, each with why and the fix. */
export function unmetRequirements(facts: TargetFacts): UnmetRequirement[] {
  return REQUIREMENTS.flatMap((r) => {
    const why = missingFeature(facts, r.feature);
    return why ? [{ need: r.need, feature: r.feature, why, fix: r.fix(facts.user) }] : [];
  });
}
