/**
 * `worker=systemd`: phase 1's buildkitd as a systemd service, as pl4nty installs it: `Type=notify`,
 * TCP with mTLS, `--oci-worker-gc-keepstorage` raised. Installed within the runner's rights: the unit
 * file sits in the run's temp dir and is `systemctl link`ed (through sudo, which on the real runner
 * covers systemctl), so nothing is written under /etc but the link. Its state lives in the unit's
 * RuntimeDirectory (kept across restarts, removed by systemd when it stops). The unit is registered for
 * stop, disable and daemon-reload when it is created.
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import { DaemonWorker } from './daemon-worker.ts';

export interface SystemdWorkerOptions {
  target: Target;
  resources: ResourceTracker;
  /** Directory on the target with phase 1's buildkitd and buildctl. */
  binDir: string;
  /** Directory on the target with ca.pem, server*.pem and client*.pem. */
  certsDir: string;
  /** buildkitd.toml on the target. */
  toml: string;
  /** Reserved space for the OCI worker's GC, in MB (`--oci-worker-gc-keepstorage`). */
  keepStorageMb: number;
  /** The target user is root: systemctl directly, else through sudo. */
  root: boolean;
}

export function systemdUnit(o: SystemdWorkerOptions, unit: string, port: number): string {
  const runtime = unit.replace(/\.service$/, '');
  return [
    '[Unit]',
    `Description=BuildKit under test (buildkit-riscv64-acceptance ${o.resources.runId})`,
    'After=network.target',
    '',
    '[Service]',
    'Type=notify',
    `RuntimeDirectory=${runtime}`,
    'RuntimeDirectoryPreserve=restart',
    [
      `ExecStart=${o.binDir}/buildkitd --root /run/${runtime}/state --config ${o.toml}`,
      `--addr tcp://127.0.0.1:${port} --addr unix:///run/${runtime}/buildkitd.sock`,
      `--tlscacert ${o.certsDir}/ca.pem --tlscert ${o.certsDir}/server.pem --tlskey ${o.certsDir}/server-key.pem`,
      `--oci-worker=true --containerd-worker=false --oci-worker-gc-keepstorage ${o.keepStorageMb}`,
    ].join(' '),
    '',
  ].join('\n');
}

export class SystemdWorker extends DaemonWorker {
  readonly name = 'systemd';
  private removed: Promise<void> | undefined;

  private constructor(
    private readonly o: SystemdWorkerOptions,
    readonly unit: string,
    readonly address: string,
    readonly how: string,
  ) {
    super(o.target, `${o.binDir}/buildctl`);
  }

  /** Links the unit (registered for removal first); `start()` starts it. */
  static async install(o: SystemdWorkerOptions): Promise<SystemdWorker> {
    const unit = `${o.resources.name('buildkitd')}.service`;
    const dir = await o.resources.tempDir('systemd');
    const port = Number(
      (
        await o.target.exec([
          'sh',
          '-c',
          'p=$(( 30000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 )); while ss -Htln "sport = :$p" | grep -q .; do p=$((p+1)); done; echo $p',
        ])
      ).stdout.trim(),
    );
    await o.target.writeFile(`${dir}/${unit}`, systemdUnit(o, unit, port));
    const worker = new SystemdWorker(
      o,
      unit,
      `tcp://127.0.0.1:${port}`,
      `systemd system service ${unit} (Type=notify, TCP+mTLS), its unit file in ${dir} linked with ${o.root ? '' : 'sudo '}systemctl link`,
    );
    o.resources.defer(`systemd unit ${unit}`, () => worker.remove());
    await worker.systemctl(['link', `${dir}/${unit}`]);
    return worker;
  }

  /** `systemctl <args>` as the runner may: through sudo unless root. */
  systemctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    const argv = this.o.root ? ['systemctl', ...args] : ['sudo', '-n', 'systemctl', ...args];
    return this.target.exec(argv, { timeoutMs: 5 * 60_000, ...options });
  }

  override buildctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    const c = this.o.certsDir;
    return this.target.exec(
      [
        this.buildctlPath,
        ...['--addr', this.address, '--tlsservername', 'localhost', '--tlscacert', `${c}/ca.pem`],
        ...['--tlscert', `${c}/client.pem`, '--tlskey', `${c}/client-key.pem`],
        ...args,
      ],
      options,
    );
  }

  /** `systemctl show` properties of the unit. */
  async show(...props: string[]): Promise<Record<string, string>> {
    const r = await this.systemctl(['show', this.unit, ...props.flatMap((p) => ['-p', p])]);
    return Object.fromEntries(r.stdout.split('\n').map((l) => l.split(/=(.*)/s, 2) as [string, string]));
  }

  /** The unit's journal through `systemctl status` (the runner may not read the system journal itself). */
  async logs() {
    const r = await this.systemctl(['status', '--no-pager', '--full', '-n', '300', this.unit], {
      reject: false,
    });
    return `${r.stdout}${r.stderr}`;
  }

  async alive() {
    return (await this.systemctl(['is-active', this.unit], { reject: false })).stdout.trim() === 'active';
  }

  protected async shutdown() {
    await this.systemctl(['stop', this.unit], { reject: false });
  }

  /** Stops, unlinks and forgets the unit (idempotent). */
  remove(): Promise<void> {
    this.removed ??= (async () => {
      await this.stop();
      await this.systemctl(['disable', this.unit], { reject: false });
      // A unit that ended failed stays listed until its failure is forgotten.
      await this.systemctl(['reset-failed', this.unit], { reject: false });
      await this.systemctl(['daemon-reload'], { reject: false });
    })();
    return this.removed;
  }
}
