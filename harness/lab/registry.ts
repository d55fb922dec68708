/**
 * The lab's registry (Debian's docker-registry) on 127.0.0.1, serving the `debian:<suite>-slim` stand-ins
 * and the `busybox` one (busybox.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../../helpers/errors.ts';
import { BUSYBOX_REPOSITORY, BUSYBOX_TAG, type BusyboxSources, busyboxRootfs } from './busybox.ts';
import { answers, startDetached, stopDetached } from './detached.ts';
import { BASE_PLATFORMS, type LabLayout } from './layout.ts';
import { type PlatformRootfs, pushMultiPlatformImage, registryPlatforms } from './oci-push.ts';
import type { Progress } from './progress.ts';
import { REGISTRY_CMD, REGISTRY_REPOSITORY, REGISTRY_TAG, registryRootfs } from './registry-image.ts';
import {
  SCANNER_CMD,
  SCANNER_REPOSITORY,
  SCANNER_TAG,
  type ScannerBuild,
  scannerKey,
  scannerRootfs,
} from './scanner-image.ts';

/** The other platforms' base trees, made after the lab's start returned: still being made, or failed. */
export type BasesStatus =
  | { state: 'making'; platforms: string[]; since: string; pid: number }
  | { state: 'failed'; platforms: string[]; error: string };

/** The lab start's work that goes on after it returned. */
export type BackgroundWork = 'bases' | 'scanner';

export class LabRegistry {
  constructor(
    private readonly layout: LabLayout,
    private readonly progress: Progress,
  ) {}

  private get addr(): string {
    return `127.0.0.1:${this.layout.config.registryPort}`;
  }

  private get pidFile(): string {
    return this.layout.p('registry', 'pid');
  }

  async ensure(): Promise<void> {
    const { suite } = this.layout.config;
    const storage = this.layout.p('registry', this.layout.imagesKey);
    await mkdir(storage, { recursive: true });
    if (!(await answers(`http://${this.addr}/v2/`))) {
      const configFile = this.layout.p('registry', 'config.yml');
      await writeFile(
        configFile,
        [
          'version: 0.1',
          'log: { level: warn }',
          `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
          `http: { addr: "${this.addr}" }`,
          '',
        ].join('\n'),
      );
      await startDetached({
        what: 'the registry',
        argv: ['docker-registry', 'serve', configFile],
        log: this.layout.p('logs', 'registry.log'),
        pidFile: this.pidFile,
        port: this.layout.config.registryPort,
        timeoutMs: 20_000,
        up: () => answers(`http://${this.addr}/v2/`),
      });
    }
    const marker = join(storage, `pushed-${suite}-slim`);
    if (existsSync(marker)) return;
    // What is made so far: riscv64 first (the VM disk starts from it), the other platforms once their
    // trees are (the lab then pushes again). Only the whole set is marked done.
    const made = BASE_PLATFORMS.filter((pl) => existsSync(this.layout.baseTar(pl.debArch)));
    await this.progress.step(
      `pushing debian:${suite}-slim (${made.map((pl) => pl.debArch).join(', ')}) to the lab registry`,
      () =>
        pushMultiPlatformImage(
          this.addr,
          'library/debian',
          `${suite}-slim`,
          made.map((pl) => ({
            os: 'linux' as const,
            architecture: pl.architecture,
            ...('variant' in pl ? { variant: pl.variant } : {}),
            tarPath: this.layout.baseTar(pl.debArch),
          })),
        ),
    );
    if (made.length === BASE_PLATFORMS.length) await writeFile(marker, new Date().toISOString());
  }

  /**
   * Where a lab start says how its background work stands: `bases` (the other platforms' base images),
   * `scanner` (the SBOM scanner stand-in).
   */
  private statusFile(work: BackgroundWork): string {
    return this.layout.p('registry', this.layout.imagesKey, `${work}-status.json`);
  }

  async recordBases(status: BasesStatus | undefined, work: BackgroundWork = 'bases'): Promise<void> {
    const file = this.statusFile(work);
    if (status) {
      // Before the registry's first start on a fresh machine, its directory is not there yet.
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${JSON.stringify(status)}\n`);
    } else await rm(file, { force: true });
  }

  /** A background work as the last lab start recorded it (undefined: nothing pending). */
  async basesStatus(work: BackgroundWork = 'bases'): Promise<BasesStatus | undefined> {
    try {
      return JSON.parse(await readFile(this.statusFile(work), 'utf8')) as BasesStatus;
    } catch {
      return undefined;
    }
  }

  /**
   * Pushes the busybox stand-in: riscv64 always (through the lab's pinned mirror), amd64 and arm64 when
   * the upstream index verifies (else riscv64 alone, said, and tried again on the next `lab up`).
   */
  async ensureBusybox(src: BusyboxSources): Promise<void> {
    const storage = this.layout.p('registry', this.layout.imagesKey);
    const marker = join(storage, `pushed-busybox-${BUSYBOX_TAG}`);
    if (existsSync(marker)) return;
    const tar = (debArch: string) =>
      this.layout.p('images', this.layout.imagesKey, `busybox-${BUSYBOX_TAG}-${debArch}.tar`);
    const platforms: PlatformRootfs[] = [];
    const missing: string[] = [];
    await this.progress.step(
      `pushing busybox:${BUSYBOX_TAG} (Debian's busybox-static) to the lab registry`,
      async () => {
        for (const pl of BASE_PLATFORMS) {
          try {
            await busyboxRootfs(src, pl.debArch, tar(pl.debArch));
          } catch (err) {
            if (pl.debArch === 'riscv64') throw err;
            missing.push(`${pl.debArch}: ${errorMessage(err)}`);
            continue;
          }
          platforms.push({
            os: 'linux',
            architecture: pl.architecture,
            ...('variant' in pl ? { variant: pl.variant } : {}),
            tarPath: tar(pl.debArch),
            cmd: ['sh'],
            createdBy: 'busybox-static from Debian (buildkit-acceptance lab)',
          });
        }
        await pushMultiPlatformImage(this.addr, BUSYBOX_REPOSITORY, BUSYBOX_TAG, platforms);
      },
    );
    if (missing.length === 0) await writeFile(marker, new Date().toISOString());
    else this.progress.say(`busybox:${BUSYBOX_TAG} is riscv64 only this time (${missing.join('; ')})`);
  }

  /** Pushes the `registry:3` stand-in (riscv64) that run-owned registries start on the lab's VM. */
  async ensureRegistryImage(src: BusyboxSources): Promise<void> {
    const marker = join(this.layout.p('registry', this.layout.imagesKey), `pushed-registry-${REGISTRY_TAG}`);
    if (existsSync(marker)) return;
    const tar = this.layout.p('images', this.layout.imagesKey, `registry-${REGISTRY_TAG}-riscv64.tar`);
    await this.progress.step(
      `pushing registry:${REGISTRY_TAG} (Debian's docker-registry) to the lab registry`,
      async () => {
        await registryRootfs(src.mirror, src.suite, tar);
        await pushMultiPlatformImage(this.addr, REGISTRY_REPOSITORY, REGISTRY_TAG, [
          {
            os: 'linux',
            architecture: 'riscv64',
            tarPath: tar,
            cmd: REGISTRY_CMD,
            createdBy: 'docker-registry from Debian (buildkit-acceptance lab)',
          },
        ]);
      },
    );
    await writeFile(marker, new Date().toISOString());
  }

  /**
   * Pushes the SBOM scanner stand-in (scanner-image.ts) when this build of it is not there yet; `build`
   * gives its binaries (a build started earlier, beside the VM disk, or one made now).
   */
  async ensureScanner(build: () => Promise<ScannerBuild>): Promise<void> {
    if (await this.hasScanner()) return;
    const marker = await this.scannerMarker();
    await this.progress.step(
      `pushing ${SCANNER_REPOSITORY}:${SCANNER_TAG} (syft built from source, the lab's SBOM generator) to the lab registry`,
      async () => {
        const built = await build();
        const tar = this.layout.p('scanner', `${basename(built.dir)}-riscv64.tar`);
        await scannerRootfs(built, tar);
        await pushMultiPlatformImage(this.addr, SCANNER_REPOSITORY, SCANNER_TAG, [
          {
            os: 'linux',
            architecture: 'riscv64',
            tarPath: tar,
            cmd: SCANNER_CMD,
            createdBy: built.createdBy,
          },
        ]);
        // Earlier builds of the glue (each about 80 MB with its layer) are replaced by this one.
        const current = basename(built.dir);
        for (const entry of await readdir(this.layout.p('scanner')))
          if (/^scanner-/.test(entry) && entry !== current && entry !== `${current}-riscv64.tar`)
            await rm(this.layout.p('scanner', entry), { recursive: true, force: true });
      },
    );
    await writeFile(marker, new Date().toISOString());
  }

  private async scannerMarker(): Promise<string> {
    return join(this.layout.p('registry', this.layout.imagesKey), `pushed-${await scannerKey()}`);
  }

  /** Whether this build of the scanner stand-in is pushed. */
  async hasScanner(): Promise<boolean> {
    return existsSync(await this.scannerMarker());
  }

  stop(): Promise<void> {
    return stopDetached(this.pidFile, 'docker-registry');
  }

  platforms(repository = 'library/debian', tag = `${this.layout.config.suite}-slim`): Promise<string[]> {
    return registryPlatforms(this.addr, repository, tag);
  }
}
