import { arch } from 'node:os';
import { TargetUnfitError } from '../../helpers/errors.ts';
import { awaitEngine, engineProblem } from '../docker/docker-engine.ts';
import { probeFacts, type TargetFacts } from '../docker/facts.ts';
import { Lab, type LabEndpoint } from '../lab/lab.ts';
import type { Config } from '../plan/config.ts';
import { runEnv } from '../plan/run-env.ts';
import { LocalTarget } from '../target/local-target.ts';
import { SSH_DEFAULTS, SshTarget } from '../target/ssh-target.ts';
import type { Target } from '../target/target.ts';
import { handedPlan, handOver } from './handover.ts';

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
  // A parent (the CLI) may have resolved the target already and handed the plan down.
  const handed = handedPlan();
  if (handed && handed.config === config)
    return { config, origin: handed.origin, buildMode: handed.buildMode };
  if (kind === 'local')
    return { config: { ...config, target: { kind: 'local' } }, origin: 'local', buildMode };
  if (kind === 'ssh') {
    return { config, origin: 'ssh', buildMode };
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

/** The plan as handed to a child process (see handover.ts). */
export function planEnv(plan: TargetPlan, facts: TargetFacts): Record<string, string> {
  return handOver({ config: plan.config, origin: plan.origin, buildMode: plan.buildMode, facts });
}

/** Preflight (strict) over a connection opened and closed for it: the target's facts. */
export async function preflightFacts(config: Config, log?: (line: string) => void): Promise<TargetFacts> {
  const target = openTarget(config, log);
  try {
    return (await preflight(target, config, true, log)).facts;
  } finally {
    await target.close();
  }
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
    passphrase: runEnv('sshPassphrase'),
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
export async function preflight(
  target: Target,
  config: Config,
  strict = true,
  log?: (line: string) => void,
): Promise<PreflightResult> {
  if (target instanceof SshTarget) await target.connect();
  const facts = await probeFacts(target);
  const problems: string[] = [];
  if (facts.arch !== 'riscv64' && !config.allowNonRiscv64) {
    problems.push(
      `the target ${target.host} is ${facts.arch || 'of unknown architecture'}, not riscv64 (pass --allow-non-riscv64 for a dry run)`,
    );
  }
  if (!facts.docker) problems.push(`Docker is not installed on ${target.host} (no docker CLI on PATH)`);
  else if (facts.dockerEngine && facts.dockerEngine.state !== 'answered') {
    // Slow is not dead: a busy engine is asked again within one deadline; a refusal fails at once.
    const { answer, waitedMs } = await awaitEngine(
      target,
      facts.dockerEngine,
      config.dockerReadyTimeoutMs,
      log,
    );
    facts.dockerEngine = answer;
    if (answer.state === 'answered') facts.dockerServer = answer.version;
    else problems.push(engineProblem(answer, target.host, facts.user, waitedMs));
  }
  if (strict && problems.length > 0) throw new TargetUnfitError(problems[0]!);
  return { facts, problems };
}
