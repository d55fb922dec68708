/**
 * The sandbox (BuildKit's `integration.Run`, Buildx's `tests/workers`): a phase names the worker kinds its
 * test list runs on, and gets each from `startWorker(ctx, kind, options)`: one call, one options shape,
 * the cleanup registered as the worker is created, the name `worker=<kind>` from `workerName`. Test
 * bodies receive a worker and never name its class; how its daemon started is the worker's business.
 * Adding a kind: its class in this folder, one line in `Kinds` and one case in `startWorker`.
 */
import { afterAll, beforeAll } from 'vitest';
import { buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import { BuildxContainerWorker } from './buildx-container-worker.ts';
import { BuildxRemoteWorker } from './buildx-remote-worker.ts';
import { ContainerdWorker } from './containerd-worker.ts';
import type { DaemonWorker } from './daemon-worker.ts';
import { type Feature, missingFeature, requireFeature } from './features.ts';
import { ImageDaemonWorker } from './image-daemon-worker.ts';
import { phase1Worker } from './phase1-workers.ts';

export { remoteTlsOpts } from './buildx-remote-worker.ts';
export { phase1WorkerName, runcMounts } from './phase1-workers.ts';

import { RootlessWorker } from './rootless-worker.ts';
import { SystemdWorker } from './systemd-worker.ts';

export interface WorkerOptions {
  /**
   * buildkitd.toml's content (the sandbox writes it where the worker's daemon reads it); by default the
   * run's own: its registry mirror (helpers/buildkitd-toml.ts).
   */
  toml?: string;
  /** The image under test, for the kinds that run it. */
  image?: { id: string; ref: string };
  /** Phase 1's binaries on the target, for the kinds that run them from its disk. */
  binaries?: { remoteBinDir: string };
  /** A directory on the target with ca.pem, server and client certificates: TCP with mTLS. */
  certsDir?: string;
  /** A Docker volume for the daemon's state (`/var/lib/buildkit`). */
  stateVolume?: string;
  /** The daemon's GC keep-storage, in MB (systemd). */
  keepStorageMb?: number;
  /** Extra buildkitd flags (the Buildx docker-container driver's `--buildkitd-flags`). */
  buildkitdFlags?: string;
  /** image-daemon: `docker run --init` (the engine's init as PID 1, as Buildx runs the image). */
  init?: boolean;
  /** image-daemon: the image as published, nothing mounted (no buildkitd.toml of the run's). */
  asPublished?: boolean;
}

/** Each kind, and the worker a test body gets for it. */
interface Kinds {
  /** Phase 1's binaries as the target's user can run them: a root process, or a privileged container. */
  phase1: DaemonWorker;
  /** The image under test run as a daemon (`docker run --privileged`). */
  'image-daemon': ImageDaemonWorker;
  /** A Buildx docker-container builder running the image under test. */
  'buildx-docker-container': BuildxContainerWorker;
  /** A Buildx remote builder to the image under test over TCP with mTLS. */
  'remote-mtls': BuildxRemoteWorker;
  /** A Buildx remote builder to the image under test through `docker-container://`. */
  'remote-docker-container': BuildxRemoteWorker;
  /** The image under test with the target's containerd as its worker. */
  containerd: ContainerdWorker;
  /** Phase 1's buildkitd as a systemd service. */
  systemd: SystemdWorker;
  /** Phase 1's buildkitd under rootlesskit, as the target's user. */
  rootless: RootlessWorker;
}
export type WorkerKind = keyof Kinds;
export type WorkerOf<K extends WorkerKind> = Kinds[K];

/** As test names read it. */
export const workerName = (kind: string): string => `worker=${kind}`;

function need<T>(value: T | undefined, what: string, kind: WorkerKind): T {
  if (value === undefined) throw new Error(`sandbox: worker=${kind} needs ${what} (WorkerOptions)`);
  return value;
}

/** Starts a worker of `kind`; its cleanup is registered with the phase's resources as it is created. */
export async function startWorker<K extends WorkerKind>(
  ctx: PhaseContext,
  kind: K,
  o: WorkerOptions = {},
): Promise<WorkerOf<K>> {
  const { target, resources } = ctx;
  const toml = o.toml ?? buildkitdToml(ctx.config.registryMirror);
  // The kinds that read buildkitd.toml from the target's disk get it in a temp dir of their own.
  const tomlFile = async () => {
    const file = `${await resources.tempDir(`toml-${kind}`)}/buildkitd.toml`;
    await target.writeFile(file, toml, 0o644);
    return file;
  };
  const image = () => need(o.image, 'the image under test (image)', kind);
  const bins = () => need(o.binaries, "phase 1's binaries (binaries)", kind).remoteBinDir;
  const started = await (async (): Promise<Kinds[WorkerKind]> => {
    switch (kind as WorkerKind) {
      case 'phase1':
        return phase1Worker(ctx, need(o.binaries, "phase 1's binaries (binaries)", kind));
      case 'image-daemon':
        return ImageDaemonWorker.start({
          target,
          resources,
          image: image().id,
          ...(o.asPublished ? {} : { toml: await tomlFile() }),
          ...(o.init ? { init: true } : {}),
          ...(o.stateVolume ? { stateVolume: o.stateVolume } : {}),
          ...(o.certsDir ? { certsDir: o.certsDir } : {}),
        });
      case 'buildx-docker-container':
        return BuildxContainerWorker.forImage(ctx, image(), toml, o.buildkitdFlags);
      case 'remote-mtls':
        return BuildxRemoteWorker.create({
          target,
          resources,
          image: image().id,
          ...(o.asPublished ? {} : { toml: await tomlFile() }),
          ...(o.init ? { init: true } : {}),
          certsDir: need(o.certsDir, 'mTLS material (certsDir)', kind),
        });
      case 'remote-docker-container':
        return BuildxRemoteWorker.create({ target, resources, image: image().id, toml: await tomlFile() });
      case 'containerd':
        return ContainerdWorker.start({ target, resources, image: image().id, toml: await tomlFile() });
      case 'systemd':
        return SystemdWorker.install({
          target,
          resources,
          binDir: bins(),
          certsDir: need(o.certsDir, 'mTLS material (certsDir)', kind),
          toml: await tomlFile(),
          keepStorageMb: need(o.keepStorageMb, 'a GC keep-storage (keepStorageMb)', kind),
          root: ctx.facts.uid === 0,
        });
      case 'rootless':
        return RootlessWorker.start(target, resources, bins(), await tomlFile());
    }
  })();
  return started as WorkerOf<K>;
}

/** What `buildctl debug workers` says of the daemon's first worker. */
export interface WorkerInfo {
  labels: Record<string, string>;
}

/**
 * A test file's worker behind a feature gate (BuildKit's `CheckFeatureCompat`): started once, and waited
 * for, in beforeAll when the target has `feature` (after `prepare`, the file's own setup), stopped in
 * afterAll. Each check takes it with `get(skip)`, which skips with the facts' exact reason when the
 * feature is missing; `info()` is what the daemon said of its worker.
 */
export function useWorker<K extends WorkerKind>(
  ctx: PhaseContext,
  kind: K,
  o: { feature: Feature; options: () => Promise<WorkerOptions>; prepare?: () => Promise<void> },
): { get(skip: (note: string) => void): WorkerOf<K>; info(): WorkerInfo | undefined } {
  let worker: WorkerOf<K> | undefined;
  let info: WorkerInfo | undefined;
  beforeAll(async () => {
    if (missingFeature(ctx.facts, o.feature)) return;
    await o.prepare?.();
    worker = await startWorker(ctx, kind, await o.options());
    info = (JSON.parse(await worker.ready()) as WorkerInfo[])[0];
  });
  afterAll(async () => {
    await worker?.stop();
  });
  return {
    get(skip) {
      requireFeature(skip, ctx.facts, o.feature);
      if (!worker) throw new Error(`${workerName(kind)} was not started (its setup failed above)`);
      return worker;
    },
    info: () => info,
  };
}
