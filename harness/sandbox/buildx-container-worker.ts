/**
 * `worker=buildx-docker-container`: a Buildx builder with the docker-container driver running the image
 * under test, as users create it (`docker buildx create --driver docker-container --driver-opt image=...
 * --bootstrap`). Buildx pulls its driver image before it looks locally, so the image is given a tag of
 * this run's own that no registry holds. The builder is registered for removal before it is created.
 *
 * Buildx reaches this builder through the engine's socket (a hijacked `docker exec ... buildctl
 * dial-stdio` stream). Under load the engine can close that stream while gRPC opens its connection
 * (`error reading server preface: ... use of closed network connection`): the transport to the
 * builder was lost, the daemon did not fail. Such a command is run again, up to DIAL_ATTEMPTS in all,
 * only while the daemon's container kept running without a restart (a crashed daemon that Docker
 * restarted fails with that evidence); if it still fails, every attempt's error is in the failure.
 */

import { CommandError, type CommandResult } from '../../helpers/command-result.ts';
import { engineStreamLost } from '../../helpers/engine-stream.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import type { ResourceTracker } from '../target/resources.ts';
import type { ExecOptions, Target } from '../target/target.ts';
import { type BuildxBuilder, buildxOn, createBuilder } from './buildx-builder.ts';
import { containerLogs, containerRunning, containerStart, removeBuilder } from './container-state.ts';
import type { Feature } from './features.ts';

/** Attempts of one Buildx command whose stream to the builder the engine dropped. */
export const DIAL_ATTEMPTS = 3;

export interface BuildxContainerOptions {
  target: Target;
  resources: ResourceTracker;
  /** The image under test: its id, and a ref to name the run's own tag after. */
  imageId: string;
  imageRef: string;
  /** True when the image was given (--image): Buildx pulls it as it would for users. */
  published: boolean;
  /** buildkitd.toml content for --buildkitd-config. */
  toml: string;
  buildkitdFlags?: string;
}

export class BuildxContainerWorker implements BuildxBuilder {
  readonly name = 'buildx-docker-container';
  readonly driver = 'docker-container';
  private stopped: Promise<void> | undefined;
  /** The daemon container's start once bootstrapped (`containerStart`): a later one means it restarted. */
  private started = '';

  private constructor(
    private readonly target: Target,
    readonly builder: string,
    readonly driverImage: string,
    private readonly ownTag: boolean,
  ) {}

  get address(): string {
    return `docker-container://${this.container}`;
  }

  /** Buildx names the builder's container buildx_buildkit_<builder>0. */
  get container(): string {
    return `buildx_buildkit_${this.builder}0`;
  }

  get how(): string {
    return `Buildx docker-container builder ${this.builder} running ${this.driverImage}`;
  }

  /** The image under test as a phase has it (given with --image: pulled by Buildx as users would). */
  static forImage(
    ctx: PhaseContext,
    image: { id: string; ref: string },
    toml: string,
    buildkitdFlags?: string,
  ): Promise<BuildxContainerWorker> {
    return BuildxContainerWorker.create({
      target: ctx.target,
      resources: ctx.resources,
      imageId: image.id,
      imageRef: image.ref,
      published: Boolean(ctx.config.image),
      toml,
      buildkitdFlags,
    });
  }

  static async create(o: BuildxContainerOptions): Promise<BuildxContainerWorker> {
    const name = o.resources.name('builder');
    const dir = await o.resources.tempDir('buildx');
    let driverImage = o.imageRef;
    if (!o.published) {
      driverImage = `${o.imageRef.replace(/:[^:/]+$/, '')}:${o.resources.name('buildx')}`;
      await o.target.exec(['docker', 'tag', o.imageId, driverImage]);
      o.resources.image(driverImage);
    }
    await o.target.writeFile(`${dir}/buildkitd.toml`, o.toml);
    const worker = new BuildxContainerWorker(o.target, name, driverImage, !o.published);
    await createBuilder(
      o.target,
      o.resources,
      name,
      [
        ...['--driver', 'docker-container', '--driver-opt', `image=${driverImage}`],
        ...['--config', `${dir}/buildkitd.toml`],
        ...(o.buildkitdFlags ? ['--buildkitd-flags', o.buildkitdFlags] : []),
      ],
      () => worker.logs(),
    );
    worker.started = await containerStart(o.target, worker.container);
    return worker;
  }

  /** `docker buildx <args> --builder <name>` on the target, run again when only the engine's stream dropped. */
  async buildx(args: string[], options?: ExecOptions): Promise<CommandResult> {
    const before = this.started;
    const lost: string[] = [];
    for (;;) {
      const r = await buildxOn(this.target, this.builder, args, { ...options, reject: false });
      const line = r.failed ? engineStreamLost(r.stderr) : undefined;
      const now = line ? await containerStart(this.target, this.container) : before;
      if (line && now === before && lost.length + 1 < DIAL_ATTEMPTS) {
        lost.push(`attempt ${lost.length + 1}: ${line}`);
        continue;
      }
      if (!r.failed || options?.reject === false) return r;
      const context = [
        options?.context,
        lost.length ? `earlier attempts lost the engine's stream (${lost.join('; ')})` : '',
        now === before
          ? ''
          : `the builder's container restarted since it was bootstrapped (${before} -> ${now})`,
      ];
      throw new CommandError(r, { context: context.filter(Boolean).join('; ') || undefined });
    }
  }

  /** buildctl inside the builder's container (the image's own), against its own socket. */
  buildctl(args: string[], options?: ExecOptions): Promise<CommandResult> {
    return this.target.exec(['docker', 'exec', this.container, 'buildctl', ...args], options);
  }

  async ready(): Promise<string> {
    return (await this.buildctl(['debug', 'workers', '--format', '{{json .}}'])).stdout;
  }

  logs(): Promise<string> {
    return containerLogs(this.target, this.container);
  }

  alive(): Promise<boolean> {
    return containerRunning(this.target, this.container);
  }

  supports(_feature: Feature): string | undefined {
    return undefined;
  }

  /** Removes the builder (its container and state volume) and the run's own tag; the tracker's removal is then a no-op. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await removeBuilder(this.target, this.builder);
      if (this.ownTag) await this.target.exec(['docker', 'image', 'rm', this.driverImage], { reject: false });
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
