import { PHASES } from '../plan/config.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export const HELP = `buildkit-acceptance: prove BuildKit on a riscv64 host (a board over SSH, this machine, or the lab)

Usage:
  buildkit-acceptance run [--target T] [--phase P]... [--grep PATTERN] [--report-dir DIR] [options]
  buildkit-acceptance test [vitest args]    the self tests while the lab starts, then every phase (with args: one vitest run)
  buildkit-acceptance doctor [--target T]   preflight: reach the target and print its facts
  buildkit-acceptance janitor [--target T] [--run ID]   remove what earlier runs left behind
  buildkit-acceptance lab up|down|status|destroy
  buildkit-acceptance lab ssh [-- COMMAND...]
  buildkit-acceptance build-binaries [--buildkit-ref REF | --source DIR] [--goarch ARCH] [--out DIR] [--fresh]
                                   [--build-deadline MINUTES]  (each go build's limit, default 45)
  buildkit-acceptance build-image [--target T] [--binaries DIR] [--image-repository REPO] [--push]
  buildkit-acceptance build-deb [--binaries DIR] [--out DIR] [--deb-revision N]
                                   buildkit_<version>_<arch>.deb from phase 1's output (and its .sha256)
  buildkit-acceptance rehearse-board [--phase P]... [--binaries DIR] [--compare results.json] [--npm-test]
                                   the nightly's steps (or, --npm-test, npm test) inside the lab VM as its
                                   runner, target local
  buildkit-acceptance track [--repo OWNER/NAME] [--upstream moby/buildkit] [--ref BRANCH] [--dry-run]
  buildkit-acceptance track --complete vX.Y.Z --release-url URL --image-digest sha256:...
  buildkit-acceptance close-issues --repo OWNER/NAME [--results FILE [--board NAME]]... [--act] [--run-url URL]
  buildkit-acceptance github-standin --state FILE [--port N]   a local GitHub held to its API description

GitHub (track, close-issues): GITHUB_API_URL (or --github-api-url) and GITHUB_TOKEN, as Actions sets them.

Target (T): ssh://user@host[:port] | local | lab. Default: this machine if it is riscv64, else the lab.
Phases (P): ${PHASES.join(', ')} (repeatable or comma-separated; default all)

Options (each also from an environment variable or ./buildkit-acceptance.json):
  --identity-file FILE            SSH private key (BKA_IDENTITY_FILE; default ~/.ssh/id_ed25519, ssh-agent)
  --known-hosts FILE              known_hosts to verify the host key against (BKA_KNOWN_HOSTS)
  --host-key-fingerprint SHA256:… pin the host key (BKA_HOST_KEY_FINGERPRINT)
  --insecure-accept-new-host-key  accept and record a host key never seen before (never a changed one)
  --allow-non-riscv64             dry run on a target that is not riscv64
  --connect-timeout SECONDS       SSH connect + auth limit (default 10)
  --docker-ready-timeout SECONDS  how long a slow (not refused) Docker engine is asked again (default 300)
  --registry-mirror HOST:PORT     pull docker.io images through this mirror on the target
  --push-registry HOST:PORT       the registry push, export and cache checks use (BKA_PUSH_REGISTRY):
                                  plain HTTP, reached under this name by the target's builders and engine;
                                  default: a registry:3 container of the run's own on the target, removed after
  --debian-mirror URL             Debian archive the image build's apt-get uses (BKA_DEBIAN_MIRROR;
                                  default: the base image's sources; the lab's pinned mirror in the lab)
  --buildkit-ref REF              BuildKit release to build and check (BKA_BUILDKIT_REF)
  --binaries DIR|ARCHIVE          validate these binaries instead of building them
  --image REF                     validate this image instead of building it
  --deb FILE                      check this Debian package instead of building one (BKA_DEB)
  --image-repository REPO         where build-image tags and pushes (BKA_IMAGE_REPOSITORY)
  --push                          build-image: push every tag it made
  --buildkitd-flags "FLAGS"       extra flags for every buildkitd the suite starts (BKA_BUILDKITD_FLAGS)
  --amd64-node ENDPOINT           a native amd64 BuildKit for the multi-node checks, as Buildx on the
                                  target reaches it: tcp://HOST:PORT, docker-container://NAME (BKA_AMD64_NODE)
  --amd64-node-tls DIR            on the target: ca.pem, cert.pem, key.pem for a tcp:// node (BKA_AMD64_NODE_TLS)
  --report-dir DIR                where junit.xml, summary.md, results.json go (default out/reports)
  --config FILE                   a JSON config file
  --lab-dir DIR  --lab-memory MIB  --lab-cpus N  --lab-ssh-port N  --lab-registry-port N
  --lab-debian-mirror URL  --lab-debian-mirror-port N  --lab-keep
  --lab-docker FLAVOUR            the lab VM's Docker (BKA_LAB_DOCKER): trixie (default: trixie's docker.io 26
                                  on the classic image store), trixie-containerd (the same on the containerd
                                  store, Docker 29's default), sid-containerd (sid's docker.io 28.5 on it)

Exit codes: 0 all passed, 1 a check failed, 2 bad usage or config, 3 the target could not be reached or is unfit.
`;
