/**
 * The lab's cache layout and keys: everything expensive lives under `config.dir`, keyed by its inputs
 * (the base trees by suite, mirror and script; the VM disk by those, the package list, the provisioning
 * script and the host key), so a changed input rebuilds what depends on it and nothing else.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabConfig } from '../plan/config.ts';
import { fingerprint } from '../target/host-key.ts';
import { DOCKER_FLAVOURS, type DockerFlavour, instanceName } from './docker-flavours.ts';

export const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), 'scripts');

/** What the lab VM has installed: the real runner's packages, from Debian trixie. */
export const VM_PACKAGES = [
  'linux-image-riscv64',
  'systemd',
  'systemd-sysv',
  'udev',
  'dbus',
  'openssh-server',
  'sudo',
  'ca-certificates',
  'iproute2',
  'procps',
  'kmod',
  'curl',
  'xz-utils',
  'pigz',
  'docker.io',
  'docker-cli',
  'docker-buildx',
  'containerd',
  'runc',
  'tini',
  'iptables',
  'git',
  'qemu-user-binfmt',
  'rootlesskit',
  'uidmap',
  'slirp4netns',
  'fuse-overlayfs',
  'dbus-user-session',
  'libpam-systemd',
  // What the real runner has from Debian before the suite runs (Node 20.19 and Go for its runner and
  // the fixtures it builds), and tinyproxy, which doctor asks a board's owner for (its own service
  // disabled by vm-image.sh), and cosign, which verifies the image's signature (setup.sh installs it on a
  // board). Installed here under qemu-user, not by the board rehearsal under TCG.
  'nodejs',
  'npm',
  'golang-go',
  'tinyproxy',
  'cosign',
];

/** The platforms of the `debian:trixie-slim` stand-in the lab registry serves. */
export const BASE_PLATFORMS = [
  { debArch: 'riscv64', architecture: 'riscv64' },
  { debArch: 'amd64', architecture: 'amd64' },
  { debArch: 'arm64', architecture: 'arm64', variant: 'v8' },
] as const;

export const LAB_USER = 'runner';
export const GUEST_HOST_ADDR = '10.0.2.2';

export interface LabEndpoint {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  hostKeyFingerprint: string;
  knownHostsFile: string;
  /** The registry as the VM (and containers in it) reach it. */
  registryFromGuest: string;
  /** The registry as this machine reaches it. */
  registryFromHost: string;
  /** The lab's Debian mirror (pinned index, verified pool) as the VM and its containers reach it. */
  debianMirrorFromGuest: string;
  debianMirrorFromHost: string;
}

function hash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

const script = (name: string) => readFileSync(join(SCRIPTS, name), 'utf8');

/** The host's own CA certificates (vm-image.sh installs them in the VM): a changed one rebuilds the disk. */
function localCertificates(): string {
  const dir = '/usr/local/share/ca-certificates';
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((f) => f.endsWith('.crt'))
    .sort()
    .map((f) => `${f}:${readFileSync(join(dir, f), 'utf8')}`)
    .join('\n');
}

export class LabLayout {
  constructor(readonly config: LabConfig) {}

  p(...parts: string[]): string {
    return join(this.config.dir, ...parts);
  }

  get instanceDir(): string {
    return this.p(instanceName(this.config.docker));
  }

  get flavour(): DockerFlavour {
    return DOCKER_FLAVOURS[this.config.docker];
  }

  get imagesKey(): string {
    return hash(this.config.suite, this.config.mirror, script('minbase-rootfs.sh'));
  }

  /** The key of the disk built from the riscv64 tree: trixie's Docker (classic), or sid's. */
  private builtKey(hostKeyPub: string, flavour: DockerFlavour): string {
    return hash(
      this.imagesKey,
      this.config.suite,
      this.config.mirror,
      VM_PACKAGES.join(' '),
      // The default flavour's key has no flavour part, as every earlier cache's.
      ...(flavour.suite === this.config.suite ? [] : [JSON.stringify(flavour)]),
      script('vm-image.sh'),
      script('daemon-json.sh'),
      hostKeyPub,
      `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
      localCertificates(),
    );
  }

  /**
   * The disk the flavour derives from (vm-flavour.sh: only its daemon.json differs), or undefined when
   * it is built from the riscv64 tree itself.
   */
  derivedFrom(hostKeyPub: string): string | undefined {
    const f = this.flavour;
    if (f.suite !== this.config.suite || f.imageStore === 'classic') return undefined;
    return this.builtKey(hostKeyPub, DOCKER_FLAVOURS.trixie);
  }

  vmKey(hostKeyPub: string): string {
    const base = this.derivedFrom(hostKeyPub);
    return base
      ? hash(base, JSON.stringify(this.flavour), script('vm-flavour.sh'), script('daemon-json.sh'))
      : this.builtKey(hostKeyPub, this.flavour);
  }

  baseTar(debArch: string): string {
    return this.p('images', this.imagesKey, `${debArch}.tar`);
  }

  /** Where the Debian index the base trees (and so the VM disk) were made from is recorded. */
  get indexFile(): string {
    return this.p('images', this.imagesKey, 'debian-index.json');
  }

  vmDir(vmKey: string): string {
    return this.p('vm', vmKey);
  }

  async endpoint(): Promise<LabEndpoint> {
    const sshDir = this.p('ssh');
    const pub = await readFile(join(sshDir, 'ssh_host_ed25519_key.pub'), 'utf8');
    const blob = Buffer.from(pub.split(/\s+/)[1] ?? '', 'base64');
    return {
      host: '127.0.0.1',
      port: this.config.sshPort,
      user: LAB_USER,
      identityFile: join(sshDir, 'id_ed25519'),
      hostKeyFingerprint: fingerprint(blob),
      knownHostsFile: join(sshDir, 'known_hosts'),
      registryFromGuest: `${GUEST_HOST_ADDR}:${this.config.registryPort}`,
      registryFromHost: `127.0.0.1:${this.config.registryPort}`,
      debianMirrorFromGuest: `http://${GUEST_HOST_ADDR}:${this.config.debianMirrorPort}/debian`,
      debianMirrorFromHost: `http://127.0.0.1:${this.config.debianMirrorPort}/debian`,
    };
  }
}

/** OpenSSH client arguments that reach the lab as the runner user, host key checked. */
export function sshArgs(ep: LabEndpoint): string[] {
  return [
    '-i',
    ep.identityFile,
    '-p',
    String(ep.port),
    '-o',
    `UserKnownHostsFile=${ep.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
  ];
}
