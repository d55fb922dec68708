/**
 * Which Docker the lab VM runs (`--lab-docker`). The board runs Docker 29, whose fresh installs use the
 * containerd image store; Debian trixie's docker.io is 26 on the classic store.
 * - `trixie`: trixie's Docker on the classic store.
 * - `trixie-containerd`: the same packages with the containerd image store on, as Docker 29 has it.
 * - `sid-containerd`: Docker's packages from Debian sid (docker.io and docker-cli 28.5, docker-buildx
 *   0.29, containerd 2.1, runc 1.3 for riscv64 in 2026-11) on the containerd store. It needs a mirror
 *   whose sid index is current: apt refuses an expired one (Valid-Until), and so does the lab.
 * Everything else in the VM is trixie's, from the same pinned index. Each flavour has a VM disk and an
 * instance (overlay, hibernated state) of its own in the lab's cache; the base trees are shared.
 */
import type { LabDockerFlavour } from '../plan/config.ts';

/** The packages that make up Docker in the VM: trixie's, or the flavour's suite's. */
export const DOCKER_PACKAGES = ['docker.io', 'docker-cli', 'docker-buildx', 'containerd', 'runc'] as const;

export interface DockerFlavour {
  name: LabDockerFlavour;
  /** The Debian suite DOCKER_PACKAGES come from (verified by apt against Debian's archive key). */
  suite: string;
  imageStore: 'classic' | 'containerd';
  /** What it proves, for `lab status` and the docs. */
  proves: string;
}

export const DOCKER_FLAVOURS: Record<LabDockerFlavour, DockerFlavour> = {
  trixie: {
    name: 'trixie',
    suite: 'trixie',
    imageStore: 'classic',
    proves:
      "Debian trixie's Docker (docker.io 26.1, docker-buildx 0.13, containerd 1.7) on the classic image store",
  },
  'trixie-containerd': {
    name: 'trixie-containerd',
    suite: 'trixie',
    imageStore: 'containerd',
    proves:
      "Debian trixie's Docker (docker.io 26.1, docker-buildx 0.13, containerd 1.7) on the containerd image store, Docker 29's default",
  },
  'sid-containerd': {
    name: 'sid-containerd',
    suite: 'sid',
    imageStore: 'containerd',
    proves:
      "Debian sid's Docker (docker.io 28.5, docker-buildx 0.29, containerd 2.1) on the containerd image store, Docker 29's default",
  },
};

/** The instance directory's name: the default flavour keeps the name every earlier cache used. */
export function instanceName(flavour: LabDockerFlavour): string {
  return flavour === 'trixie' ? 'instance' : `instance-${flavour}`;
}
