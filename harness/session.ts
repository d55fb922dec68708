import { arch } from 'node:os';
import type { Config } from './config.ts';
import { TargetUnfitError } from './errors.ts';
import { probeFacts, type TargetFacts } from './facts.ts';
import { Lab, type LabEndpoint } from './lab/lab.ts';
import { LocalTarget } from './local-target.ts';
import { SSH_DEFAULTS, SshTarget } from './ssh-target.ts';
import type { Target } from './target.ts';

/** How the binaries were (or will be) built for this target: the report says which. */
export type BuildMode = 'native' | 'cross-compiled' | 'cross-compiled (lab)';

export interface TargetPlan {
  /** The concrete target: never 'auto'. */
  config: Config;
  origin: 'local' | 'ssh' | 'lab';
  buildMode: BuildMode;
  lab?: LabEndpoint;
}

/**
 * Resolves `auto` and `lab` into a concrete SSH or local target. `auto` means: this machine when it is
 * riscv64, otherwise the lab (started here when it is not running).
 */
export async function planTarget(config: Config, options: { startLab?: boolean } = {}): Promise<TargetPlan> {
  const kind = config.target.kind === 'auto' ? (arch() === 'riscv64' ? 'local' : 'lab') : config.target.kind;
  // The binaries are built where the suite runs: native only when that is a riscv64 machine.
  const buildMode: BuildMode = arch() === 'riscv64' ? 'native' : 'cross-compiled';
  // A parent (the CLI) may have resolved the lab already and handed the concrete target down.
  const inherited = process.env.BKA_TARGET_ORIGIN === 'lab' ? 'lab' : undefined;
  if (kind === 'local')
    return { config: { ...config, target: { kind: 'local' } }, origin: 'local', buildMode };
  if (kind === 'ssh') {
    return { config, origin: inherited ?? 'ssh', buildMode: inherited ? 'cross-compiled (lab)' : buildMode };
  }
  const lab = new Lab(config.lab);
  const endpoint = options.startLab === false ? await lab.endpoint() : await lab.up();
  return {
    config: {
      ...config,
      target: { kind: 'ssh', user: endpoint.user, host: endpoint.host, port: endpoint.port },
      identityFiles: [endpoint.identityFile],
      hostKeyFingerprint: endpoint.hostKeyFingerprint,
      knownHostsFiles: [endpoint.knownHostsFile],
      registryMirror: config.registryMirror ?? endpoint.registryFromGuest,
      debianMirror: config.debianMirror ?? endpoint.debianMirrorFromGuest,
    },
    origin: 'lab',
    buildMode: 'cross-compiled (lab)',
    lab: endpoint,
  };
}

/** Environment that makes a child process (vitest, its workers) see the same concrete target. */
export function planEnv(plan: TargetPlan): Record<string, string> {
  const c = plan.config;
  const env: Record<string, string> = {
    BKA_TARGET_ORIGIN: plan.origin,
    BKA_BUILD_MODE: plan.buildMode,
    BKA_REPORT_DIR: c.reportDir,
    BKA_PHASES: c.phases.join(','),
    BKA_BUILDKIT_REF: c.buildkitRef,
  };
  if (c.target.kind === 'ssh') {
    env.BKA_TARGET = `ssh://${c.target.user}@${c.target.host.includes(':') ? `[${c.target.host}]` : c.target.host}:${c.target.port}`;
    if (c.identityFiles.length === 1) env.BKA_IDENTITY_FILE = c.identityFiles[0]!;
    if (c.hostKeyFingerprint) env.BKA_HOST_KEY_FINGERPRINT = c.hostKeyFingerprint;
    if (c.knownHostsFiles.length === 1) env.BKA_KNOWN_HOSTS = c.knownHostsFiles[0]!;
  } else env.BKA_TARGET = 'local';
  if (c.registryMirror) env.BKA_REGISTRY_MIRROR = c.registryMirror;
  if (c.debianMirror) env.BKA_DEBIAN_MIRROR = c.debianMirror;
  if (c.buildkitdFlags.length > 0) env.BKA_BUILDKITD_FLAGS = c.buildkitdFlags.join(' ');
  if (c.acceptNewHostKey) env.BKA_INSECURE_ACCEPT_NEW_HOST_KEY = '1';
  env.BKA_IMAGE_REPOSITORY = c.imageRepository;
  env.BKA_CONNECT_TIMEOUT = String(c.connectTimeoutMs / 1000);
  env.BKA_LAB_DIR = c.lab.dir;
  env.BKA_LAB_MEMORY = String(c.lab.memoryMiB);
  env.BKA_LAB_CPUS = String(c.lab.cpus);
  env.BKA_LAB_SSH_PORT = String(c.lab.sshPort);
  env.BKA_LAB_REGISTRY_PORT = String(c.lab.registryPort);
  env.BKA_LAB_DEBIAN_MIRROR = c.lab.mirror;
  env.BKA_LAB_DEBIAN_MIRROR_PORT = String(c.lab.debianMirrorPort);
  if (c.lab.keep) env.BKA_LAB_KEEP = '1';
  if (c.allowNonRiscv64) env.BKA_ALLOW_NON_RISCV64 = '1';
  if (c.binaries) env.BKA_BINARIES = c.binaries;
  if (c.image) env.BKA_IMAGE = c.image;
  return env;
}

/** Opens the concrete target of a plan (or of a config whose target is already local/ssh). */
export function openTarget(config: Config, log?: (line: string) => void): Target {
  const t = config.target;
  if (t.kind === 'local') return new LocalTarget();
  if (t.kind !== 'ssh') throw new Error(`openTarget: resolve the '${t.kind}' target with planTarget first`);
  return new SshTarget({
    host: t.host,
    port: t.port,
    user: t.user,
    identityFiles: config.identityFiles,
    passphrase: process.env.BKA_SSH_PASSPHRASE,
    agentSocket: process.env.SSH_AUTH_SOCK,
    hostKey: {
      pinnedFingerprint: config.hostKeyFingerprint,
      knownHostsFiles: config.knownHostsFiles,
      acceptNewHostKey: config.acceptNewHostKey,
    },
    connectTimeoutMs: config.connectTimeoutMs,
    keepaliveIntervalMs: SSH_DEFAULTS.keepaliveIntervalMs,
    maxChannels: SSH_DEFAULTS.maxChannels,
    dockerSocketPath: SSH_DEFAULTS.dockerSocketPath,
    log,
  });
}

export interface PreflightResult {
  facts: TargetFacts;
  problems: string[];
}

/**
 * Preflight: reach the target (throws TargetUnreachableError with one sentence), probe its facts,
 * and list what makes it unfit. `strict` throws TargetUnfitError on the first problem.
 */
export async function preflight(target: Target, config: Config, strict = true): Promise<PreflightResult> {
  if (target instanceof SshTarget) await target.connect();
  const facts = await probeFacts(target);
  const problems: string[] = [];
  if (facts.arch !== 'riscv64' && !config.allowNonRiscv64) {
    problems.push(
      `the target ${target.host} is ${facts.arch || 'of unknown architecture'}, not riscv64 (pass --allow-non-riscv64 for a dry run)`,
    );
  }
  if (!facts.docker) problems.push(`Docker is not installed on ${target.host} (no docker CLI on PATH)`);
  else if (!facts.dockerServer) {
    problems.push(
      `the Docker engine on ${target.host} does not answer as ${facts.user} (is dockerd running, and is ${facts.user} in the docker group?)`,
    );
  }
  if (strict && problems.length > 0) throw new TargetUnfitError(problems[0]!);
  return { facts, problems };
}
