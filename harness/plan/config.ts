/**
 * The configuration: one field table (flag, environment variable, config file key), parsed once with
 * a clear error naming the field, its origin, what was expected and what was given. Over 250 lines
 * because the table and its validation are one concept: every field is declared and checked here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../helpers/errors.ts';
import { registerSecret, registerSecretsFromEnv } from '../../helpers/redact.ts';
import { CONFIG_FILE_ENV, DEFAULT_REPORT_DIR, FIELDS, type FieldName } from './options.ts';
import {
  defaultImageRepository,
  imageRepositoryProblem,
  type ProjectRepository,
  projectRepository,
} from './project-repository.ts';
import { RUN_ENV } from './run-env.ts';

export const PHASES = [
  'binaries',
  'container',
  'buildx',
  'multiplatform',
  'rootless',
  'release-tracking',
] as const;
export type Phase = (typeof PHASES)[number];

export type TargetSpec =
  | { kind: 'auto' }
  | { kind: 'local' }
  | { kind: 'lab' }
  | { kind: 'ssh'; user: string; host: string; port: number };

/** The one typed configuration of a run: flags over environment over config file over defaults. */
export interface Config {
  target: TargetSpec;
  identityFiles: string[];
  knownHostsFiles: string[];
  hostKeyFingerprint: string | undefined;
  acceptNewHostKey: boolean;
  allowNonRiscv64: boolean;
  connectTimeoutMs: number;
  /** How long the preflight asks a Docker engine that is slow (not refused) again before giving up. */
  dockerReadyTimeoutMs: number;
  reportDir: string;
  phases: Phase[];
  /** Where `docker.io` images come from on the target (a pull-through mirror), e.g. `10.0.2.2:5311`. */
  registryMirror: string | undefined;
  /**
   * A plain-HTTP registry the push, export and cache checks use, reached under this one name by the
   * target's builders (containers on Docker's bridge) and by its engine (which must trust it). Unset: each
   * phase file that pushes starts a registry of its own on the target (harness/run/run-registry.ts).
   */
  pushRegistry: string | undefined;
  /** The Debian archive image builds on the target fetch packages from (replaces the base image's sources). */
  debianMirror: string | undefined;
  buildkitRef: string;
  binaries: string | undefined;
  image: string | undefined;
  /** A Debian package (.deb on this machine) to check instead of building one from the binaries. */
  deb: string | undefined;
  imageRepository: string;
  /** This project's GitHub repository (the image's source label), when it can be known. */
  projectRepository?: ProjectRepository;
  /** Extra flags for every buildkitd the suite starts (e.g. --debug). */
  buildkitdFlags: string[];
  /**
   * A native linux/amd64 BuildKit node for the multi-node checks, as Buildx on the target reaches it:
   * `tcp://HOST:PORT` with mTLS material in `tlsDir` on the target (ca.pem, cert.pem, key.pem), or a
   * Buildx remote endpoint that needs none (`docker-container://NAME`, `unix://PATH`).
   */
  amd64Node: { address: string; tlsDir?: string } | undefined;
  lab: LabConfig;
}

export interface LabConfig {
  dir: string;
  memoryMiB: number;
  cpus: number;
  sshPort: number;
  registryPort: number;
  /** The lab's Debian mirror (a pinned index, a verified pool) on 127.0.0.1, 10.0.2.2 from the guest. */
  debianMirrorPort: number;
  /** The upstream Debian mirror the lab is provisioned from. */
  mirror: string;
  suite: string;
  /** Keep the lab running after a run that started it. */
  keep: boolean;
  /** Which Docker the VM runs and on which image store (harness/lab/docker-flavours.ts). */
  docker: LabDockerFlavour;
}

export const LAB_DOCKER_FLAVOURS = ['trixie', 'trixie-containerd', 'sid-containerd'] as const;
export type LabDockerFlavour = (typeof LAB_DOCKER_FLAVOURS)[number];

/**
 * The BuildKit release the suite builds and checks by default: the newest release (2026-11) whose whole
 * dependency set the Go module proxy reachable from CI serves (v0.34.x needs module versions it refuses).
 */
export const DEFAULT_BUILDKIT_REF = 'v0.33.1';

export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'buildkit-acceptance');
}

type Source = Record<string, unknown>;

/** Flags as given on the command line (already split by the CLI), by their config field names. */
export type FlagValues = Partial<Record<keyof typeof FIELDS, string | boolean | string[]>>;

function fail(field: string, origin: string, expected: string, actual: unknown): never {
  const shown = typeof actual === 'string' ? `'${actual}'` : JSON.stringify(actual);
  throw new ConfigError(`config: ${field} (from ${origin}) expected ${expected}, got ${shown}`);
}

interface Raw {
  value: unknown;
  origin: string;
}

/** Parses `local`, `lab`, or `ssh://user@host[:port]`. */
export function parseTarget(value: string, origin = 'target'): TargetSpec {
  if (value === 'local' || value === 'lab' || value === 'auto') return { kind: value };
  const m = /^ssh:\/\/([A-Za-z0-9._-]+)@(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(value);
  if (!m) fail('target', origin, "'local', 'lab' or 'ssh://user@host[:port]'", value);
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) fail('target', origin, 'a port from 1 to 65535', m[3]);
  return { kind: 'ssh', user: m[1]!, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

function str(field: string, raw: Raw | undefined): string | undefined {
  if (raw === undefined || raw.value === undefined || raw.value === '') return undefined;
  if (typeof raw.value !== 'string') fail(field, raw.origin, 'a string', raw.value);
  return raw.value;
}

function bool(field: string, raw: Raw | undefined, dflt: boolean): boolean {
  if (raw === undefined || raw.value === undefined || raw.value === '') return dflt;
  if (typeof raw.value === 'boolean') return raw.value;
  if (raw.value === '1' || raw.value === 'true') return true;
  if (raw.value === '0' || raw.value === 'false') return false;
  fail(field, raw.origin, 'true/false (or 1/0)', raw.value);
}

function int(field: string, raw: Raw | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw.value === undefined || raw.value === '') return dflt;
  const n = typeof raw.value === 'number' ? raw.value : Number(raw.value);
  if (!Number.isInteger(n) || n < min || n > max)
    fail(field, raw.origin, `a whole number from ${min} to ${max}`, raw.value);
  return n;
}

function list(raw: Raw | undefined): string[] | undefined {
  if (raw === undefined || raw.value === undefined || raw.value === '') return undefined;
  const v = raw.value;
  const items = Array.isArray(v) ? v : String(v).split(',');
  return items.map((s) => String(s).trim()).filter(Boolean);
}

export interface LoadOptions {
  flags?: FlagValues;
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; otherwise CONFIG_FILE_ENV's, then ./buildkit-acceptance.json when present. */
  configFile?: string;
  cwd?: string;
}

/** Reads the config file: a JSON object whose keys are the field names above. */
function readConfigFile(path: string): Source {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `config: cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(
      `config: ${path} must hold a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`,
    );
  }
  for (const key of Object.keys(parsed)) {
    if (!(key in FIELDS)) {
      throw new ConfigError(
        `config: ${path} has an unknown field '${key}'; known fields: ${Object.keys(FIELDS).join(', ')}`,
      );
    }
  }
  return parsed as Source;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  registerSecretsFromEnv(env);
  registerSecret(env[RUN_ENV.sshPassphrase]);
  const fileArg = options.configFile ?? env[CONFIG_FILE_ENV];
  const defaultFile = join(cwd, 'buildkit-acceptance.json');
  const filePath = fileArg ? resolve(cwd, fileArg) : existsSync(defaultFile) ? defaultFile : undefined;
  const file = filePath ? readConfigFile(filePath) : {};

  const get = (name: FieldName): Raw | undefined => {
    const spec = FIELDS[name];
    const flag = options.flags?.[name];
    if (flag !== undefined) return { value: flag, origin: spec.flag };
    if (env[spec.env] !== undefined && env[spec.env] !== '')
      return { value: env[spec.env], origin: spec.env };
    if (file[name] !== undefined) return { value: file[name], origin: `${filePath} field ${name}` };
    return undefined;
  };

  const targetRaw = get('target');
  const targetStr = str('target', targetRaw);
  const target = targetStr ? parseTarget(targetStr, targetRaw!.origin) : ({ kind: 'auto' } as const);

  const project = projectRepository(env, cwd);
  const repoRaw = get('imageRepository');
  const imageRepository = str('imageRepository', repoRaw) ?? defaultImageRepository(project);
  const repoProblem = imageRepositoryProblem(imageRepository);
  if (repoProblem) fail('imageRepository', repoRaw?.origin ?? 'default', repoProblem, imageRepository);
  const phasesRaw = get('phase');
  const phases = list(phasesRaw) ?? [...PHASES];
  for (const p of phases) {
    if (!(PHASES as readonly string[]).includes(p))
      fail('phase', phasesRaw!.origin, `one of ${PHASES.join(', ')}`, p);
  }

  /** A string option that must match `shape`, else a config error naming what was expected. */
  const shaped = (name: FieldName, shape: RegExp, expected: string, tidy = (v: string) => v) => {
    const raw = get(name);
    const given = str(name, raw);
    const value = given === undefined ? undefined : tidy(given);
    if (value && !shape.test(value)) fail(name, raw!.origin, expected, value);
    return value;
  };
  const hostKeyFingerprint = shaped(
    'hostKeyFingerprint',
    /^SHA256:[A-Za-z0-9+/]{43}=?$/,
    "an OpenSSH fingerprint 'SHA256:<43 base64 characters>'",
  );
  const registryMirror = shaped(
    'registryMirror',
    /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._/-]*)?$/,
    "a registry host[:port] such as 'mirror.example:5000'",
  );
  const pushRegistry = shaped(
    'pushRegistry',
    /^[A-Za-z0-9.-]+(:\d{1,5})?$/,
    "a registry host[:port] such as '127.0.0.1:5000'",
  );
  const debianMirror = shaped(
    'debianMirror',
    /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/,
    "an http(s) URL of a Debian archive such as 'http://mirror.example/debian'",
    (v) => v.replace(/\/+$/, ''),
  );

  const refRaw = get('buildkitRef');
  const buildkitRef = str('buildkitRef', refRaw) ?? DEFAULT_BUILDKIT_REF;
  if (!/^(v\d+\.\d+\.\d+(-[A-Za-z0-9.]+)?|[0-9a-f]{7,40}|master)$/.test(buildkitRef)) {
    fail(
      'buildkitRef',
      refRaw!.origin,
      "a release tag like 'v0.34.2', a commit hash, or 'master'",
      buildkitRef,
    );
  }

  const nodeRaw = get('amd64Node');
  const nodeAddress = str('amd64Node', nodeRaw);
  const nodeTlsRaw = get('amd64NodeTls');
  const nodeTls = str('amd64NodeTls', nodeTlsRaw);
  if (
    nodeAddress &&
    !/^(tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}|docker-container:\/\/[\w.-]+|unix:\/\/\/\S+)$/.test(nodeAddress)
  )
    fail(
      'amd64Node',
      nodeRaw!.origin,
      "a Buildx remote endpoint: 'tcp://HOST:PORT' (with --amd64-node-tls), 'docker-container://NAME' or 'unix:///PATH'",
      nodeAddress,
    );
  if (nodeAddress?.startsWith('tcp://') && !nodeTls)
    fail(
      'amd64NodeTls',
      nodeTlsRaw?.origin ?? 'default',
      'a directory on the target with ca.pem, cert.pem and key.pem (a tcp:// node is reached with mTLS only)',
      nodeTls ?? '',
    );
  if (nodeTls && !nodeAddress)
    fail('amd64NodeTls', nodeTlsRaw!.origin, 'only beside --amd64-node (the node it is for)', nodeTls);

  const identity = str('identityFile', get('identityFile'));
  const knownHosts = str('knownHosts', get('knownHosts'));
  const labDir = str('labDir', get('labDir')) ?? join(defaultCacheDir(), 'lab');
  const labDockerRaw = get('labDocker');
  const labDocker = (str('labDocker', labDockerRaw) ?? 'trixie') as LabDockerFlavour;
  if (!LAB_DOCKER_FLAVOURS.includes(labDocker))
    fail('labDocker', labDockerRaw!.origin, LAB_DOCKER_FLAVOURS.map((f) => `'${f}'`).join(' or '), labDocker);

  return {
    target,
    identityFiles: identity
      ? [resolve(cwd, identity)]
      : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)),
    knownHostsFiles: knownHosts
      ? [resolve(cwd, knownHosts)]
      : [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'],
    hostKeyFingerprint,
    acceptNewHostKey: bool('acceptNewHostKey', get('acceptNewHostKey'), false),
    allowNonRiscv64: bool('allowNonRiscv64', get('allowNonRiscv64'), false),
    connectTimeoutMs: int('connectTimeout', get('connectTimeout'), 10, 1, 300) * 1000,
    // Minutes, not seconds: an engine on an emulated or freshly booted board can be slow to answer.
    dockerReadyTimeoutMs: int('dockerReadyTimeout', get('dockerReadyTimeout'), 300, 1, 3600) * 1000,
    reportDir: resolve(cwd, str('reportDir', get('reportDir')) ?? DEFAULT_REPORT_DIR),
    phases: phases as Phase[],
    registryMirror,
    pushRegistry,
    debianMirror,
    buildkitRef,
    binaries: str('binaries', get('binaries')),
    image: str('image', get('image')),
    deb: str('deb', get('deb')),
    imageRepository,
    projectRepository: project,
    buildkitdFlags: (str('buildkitdFlags', get('buildkitdFlags')) ?? '').split(/\s+/).filter(Boolean),
    amd64Node: nodeAddress ? { address: nodeAddress, ...(nodeTls ? { tlsDir: nodeTls } : {}) } : undefined,
    lab: {
      dir: resolve(cwd, labDir),
      memoryMiB: int('labMemory', get('labMemory'), 4096, 1024, 65536),
      cpus: int('labCpus', get('labCpus'), 2, 1, 8),
      sshPort: int('labSshPort', get('labSshPort'), 2322, 1024, 65535),
      registryPort: int('labRegistryPort', get('labRegistryPort'), 5311, 1024, 65535),
      debianMirrorPort: int('labDebianMirrorPort', get('labDebianMirrorPort'), 5312, 1024, 65535),
      mirror: str('labMirror', get('labMirror')) ?? 'http://deb.debian.org/debian',
      suite: 'trixie',
      keep: bool('labKeep', get('labKeep'), false),
      docker: labDocker,
    },
  };
}
