/**
 * `worker=image-daemon`: the image under test run as users run it, `docker run -d --privileged IMAGE`,
 * with its own command line (unix socket only, or TCP with mTLS). buildctl is the image's own, run in
 * the container. The container is labelled and registered for removal as it is created.
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import { containerLogs, containerRunning, containerState } from './container-state.ts';
import { DaemonWorker } from './daemon-worker.ts';
import { MTLS_LISTEN } from './target-certs.ts';

export interface ImageDaemonOptions {
  target: Target;
  resources: ResourceTracker;
  /** The image under test (its id: what every container of the run must run). */
  image: string;
  /** A directory on the target with ca.pem, server.pem and server-key.pem: listen on TCP with mTLS. */
  certsDir?: string;
  /** A buildkitd.toml on the target, mounted where the image reads it. */
  toml?: string;
  /** A Docker volume for the daemon's state (/var/lib/buildkit), e.g. a small tmpfs one. */
  stateVolume?: string;
  /** `docker run --init`: the engine's init as PID 1, as Buildx runs the image. */
  init?: boolean;
}

export class ImageDaemonWorker extends DaemonWorker {
  readonly name = 'image-daemon';
  /** With certsDir: the published loopback port of the TCP listener. */
  port: number | undefined;

  private constructor(
    target: Target,
    override readonly container: string,
    readonly how: string,
  ) {
    super(target, 'buildctl');
  }

  get address(): string {
    return `docker-container://${this.container}`;
  }

  static async start(o: ImageDaemonOptions): Promise<ImageDaemonWorker> {
    const name = o.resources.name('image-daemon');
    const tcp = o.certsDir ? MTLS_LISTEN : [];
    const run = await o.target.exec(
      [
        ...['docker', 'run', '-d', '--privileged', '--name', name, ...o.resources.labelFlags],
        ...(o.init ? ['--init'] : []),
        ...(o.certsDir ? ['-p', '127.0.0.1::1234', '-v', `${o.certsDir}:/certs:ro`] : []),
        ...(o.toml ? ['-v', `${o.toml}:/etc/buildkit/buildkitd.toml:ro`] : []),
        ...(o.stateVolume ? ['-v', `${o.stateVolume}:/var/lib/buildkit`] : []),
        o.image,
        ...tcp,
      ],
      { context: 'starting the image under test as a daemon' },
    );
    o.resources.container(run.stdout.trim());
    const how = `docker run -d --privileged${o.init ? ' --init' : ''} ${o.image.slice(0, 19)}${o.certsDir ? ' on TCP with mTLS' : ' (unix socket only)'}${o.toml ? '' : ', as published'}`;
    const worker = new ImageDaemonWorker(o.target, name, how);
    if (o.certsDir) {
      const port = await o.target.exec(['docker', 'port', name, '1234/tcp']);
      worker.port = Number(/:(\d+)\s*$/m.exec(port.stdout)?.[1]);
      if (!worker.port) throw new Error(`no published port for 1234/tcp of ${name}: '${port.stdout.trim()}'`);
    }
    return worker;
  }

  override buildctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return this.target.exec(['docker', 'exec', this.container, 'buildctl', ...args], options);
  }

  logs() {
    return containerLogs(this.target, this.container);
  }

  alive() {
    return containerRunning(this.target, this.container);
  }

  state() {
    return containerState(this.target, this.container);
  }

  protected async shutdown() {
    await this.target.exec(['docker', 'rm', '-f', '-v', this.container], {
      reject: false,
      timeoutMs: 60_000,
    });
  }
}
