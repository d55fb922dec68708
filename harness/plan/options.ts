/**
 * The options' table: each option's environment variable and flag, by its config field name. config.ts
 * parses them; a process that only needs a name (a child's environment, the reporter's directory before
 * any plan exists) reads it here, never by spelling the variable out.
 */
import { resolve } from 'node:path';

export const FIELDS = {
  target: { env: 'BKA_TARGET', flag: '--target' },
  identityFile: { env: 'BKA_IDENTITY_FILE', flag: '--identity-file' },
  knownHosts: { env: 'BKA_KNOWN_HOSTS', flag: '--known-hosts' },
  hostKeyFingerprint: { env: 'BKA_HOST_KEY_FINGERPRINT', flag: '--host-key-fingerprint' },
  acceptNewHostKey: { env: 'BKA_INSECURE_ACCEPT_NEW_HOST_KEY', flag: '--insecure-accept-new-host-key' },
  allowNonRiscv64: { env: 'BKA_ALLOW_NON_RISCV64', flag: '--allow-non-riscv64' },
  connectTimeout: { env: 'BKA_CONNECT_TIMEOUT', flag: '--connect-timeout' },
  dockerReadyTimeout: { env: 'BKA_DOCKER_READY_TIMEOUT', flag: '--docker-ready-timeout' },
  reportDir: { env: 'BKA_REPORT_DIR', flag: '--report-dir' },
  phase: { env: 'BKA_PHASES', flag: '--phase' },
  registryMirror: { env: 'BKA_REGISTRY_MIRROR', flag: '--registry-mirror' },
  pushRegistry: { env: 'BKA_PUSH_REGISTRY', flag: '--push-registry' },
  debianMirror: { env: 'BKA_DEBIAN_MIRROR', flag: '--debian-mirror' },
  buildkitRef: { env: 'BKA_BUILDKIT_REF', flag: '--buildkit-ref' },
  binaries: { env: 'BKA_BINARIES', flag: '--binaries' },
  image: { env: 'BKA_IMAGE', flag: '--image' },
  deb: { env: 'BKA_DEB', flag: '--deb' },
  imageRepository: { env: 'BKA_IMAGE_REPOSITORY', flag: '--image-repository' },
  buildkitdFlags: { env: 'BKA_BUILDKITD_FLAGS', flag: '--buildkitd-flags' },
  amd64Node: { env: 'BKA_AMD64_NODE', flag: '--amd64-node' },
  amd64NodeTls: { env: 'BKA_AMD64_NODE_TLS', flag: '--amd64-node-tls' },
  labDir: { env: 'BKA_LAB_DIR', flag: '--lab-dir' },
  labMemory: { env: 'BKA_LAB_MEMORY', flag: '--lab-memory' },
  labCpus: { env: 'BKA_LAB_CPUS', flag: '--lab-cpus' },
  labSshPort: { env: 'BKA_LAB_SSH_PORT', flag: '--lab-ssh-port' },
  labRegistryPort: { env: 'BKA_LAB_REGISTRY_PORT', flag: '--lab-registry-port' },
  labMirror: { env: 'BKA_LAB_DEBIAN_MIRROR', flag: '--lab-debian-mirror' },
  labDebianMirrorPort: { env: 'BKA_LAB_DEBIAN_MIRROR_PORT', flag: '--lab-debian-mirror-port' },
  labKeep: { env: 'BKA_LAB_KEEP', flag: '--lab-keep' },
  labDocker: { env: 'BKA_LAB_DOCKER', flag: '--lab-docker' },
} as const;

export type FieldName = keyof typeof FIELDS;

/** Where the reports go unless `--report-dir` says (relative to the working directory). */
export const DEFAULT_REPORT_DIR = 'out/reports';

/**
 * The report directory as the environment gives it, for the processes that write reports before any plan
 * exists (the reporter, the global setup's failure record).
 */
export const reportDirFromEnv = (): string => resolve(optionFromEnv('reportDir') ?? DEFAULT_REPORT_DIR);

/** The config file (`--config FILE`), when none is given on the command line. */
export const CONFIG_FILE_ENV = 'BKA_CONFIG';

/** An option's environment variable (for a child process). */
export const optionEnv = (field: FieldName): string => FIELDS[field].env;

/**
 * An option as the environment gives it, for the two readers that run before any plan exists (the CLI's
 * phase list, the reporter's directory); everything else reads the resolved plan.
 */
export const optionFromEnv = (field: FieldName): string | undefined =>
  process.env[FIELDS[field].env] || undefined;
export const FLAG_NAMES: Record<string, FieldName> = Object.fromEntries(
  Object.entries(FIELDS).map(([name, f]) => [f.flag, name as FieldName]),
);
/** Flags that take no value. */
export const BOOLEAN_FLAGS = new Set(['--insecure-accept-new-host-key', '--allow-non-riscv64', '--lab-keep']);
