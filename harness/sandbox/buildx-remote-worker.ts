/**
 * `worker=remote-mtls` and `worker=remote-docker-container`: a Buildx `remote` builder in front of the
 * image under test run as a daemon. Over TCP with mTLS, as pl4nty runs it (`--driver-opt
 * cacert=,cert=,key=,servername=` to `tcp://HOST:PORT`); or to `docker-container://NAME`, a privileged
 * container with no TCP port at all (the GitHub Actions pattern). Stopping removes the builder, then
 * the daemon.
 */
import type { CommandResult } from '../../helpers/command-result.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import { type BuildxBuilder, buildxOn, createBuilder } from './buildx-builder.ts';
import { removeBuilder } from './container-state.ts';
import type { Feature } from './features.ts';
import { ImageDaemonWorker } from './image-daemon-worker.ts';

export interface BuildxRemoteOptions {
  target: Target;
  resources: ResourceTracker;
  image: string;
  /** A buildkitd.toml on the target for the daemon. */
  toml?: string;
  /** A directory on the target with the CA, server and client certificates: TCP with mTLS. */
  certsDir?: string;
}

/** The remote driver's options for `certsDir`'s CA, and the named client certificate (none when undefined). */
export function remoteTlsOpts(certsDir: string, client: string | undefined): string {
  const opts = [`cacert=${certsDir}/ca.pem`, 'servername=localhost'];
  if (client) opts.push(`cert=${certsDir}/${client}.pem`, `key=${certsDir}/${client}-key.pem`);
  return opts.join(',');
}

export class BuildxRemoteWorker implements BuildxBuilder {
  readonly driver = 'remote';
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly target: Target,
    readonly name: 'remote-mtls' | 'remote-docker-container',
    readonly builder: string,
    readonly address: string,
    readonly daemon: ImageDaemonWorker,
  ) {}

  get how(): string {
    return `Buildx remote builder ${this.builder} to ${this.address} (${this.daemon.how})`;
  }

  static async create(o: BuildxRemoteOptions): Promise<BuildxRemoteWorker> {
    const daemon = await ImageDaemonWorker.start(o);
    try {
      await daemon.ready();
      const name = o.certsDir ? 'remote-mtls' : 'remote-docker-container';
      const address = o.certsDir ? `tcp://127.0.0.1:${daemon.port}` : daemon.address;
      const builder = o.resources.name('builder');
      const tls = o.certsDir ? ['--driver-opt', remoteTlsOpts(o.certsDir, 'client')] : [];
      await createBuilder(o.target, o.resources, builder, ['--driver', 'remote', ...tls, address], () =>
        daemon.logs(),
      );
      return new BuildxRemoteWorker(o.target, name, builder, address, daemon);
    } catch (e) {
      await daemon.stop();
      throw e;
    }
  }

  buildx(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return buildxOn(this.target, this.builder, args, options);
  }

  buildctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return this.daemon.buildctl(args, options);
  }

  ready(): Promise<string> {
    return this.daemon.ready();
  }

  logs(): Promise<string> {
    return this.daemon.logs();
  }

  alive(): Promise<boolean> {
    return this.daemon.alive();
  }

  supports(_feature: Feature): string | undefined {
    return undefined;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await removeBuilder(this.target, this.builder);
      await this.daemon.stop();
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
