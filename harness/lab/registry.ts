/**
 * The lab's registry (Debian's docker-registry) on 127.0.0.1, serving the `debian:<suite>-slim` stand-ins
 * and the `busybox` one (busybox.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.ts';
import { BUSYBOX_REPOSITORY, BUSYBOX_TAG, type BusyboxSources, busyboxRootfs } from './busybox.ts';
import { answers, startDetached, stopDetached } from './detached.ts';
import { BASE_PLATFORMS, type LabLayout } from './layout.ts';
import { type PlatformRootfs, pushMultiPlatformImage, registryPlatforms } from './oci-push.ts';
import type { Progress } from './progress.ts';

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
    await this.progress.step(`pushing debian:${suite}-slim (riscv64, amd64, arm64) to the lab registry`, () =>
      pushMultiPlatformImage(
        this.addr,
        'library/debian',
        `${suite}-slim`,
        BASE_PLATFORMS.map((pl) => ({
          os: 'linux' as const,
          architecture: pl.architecture,
          ...('variant' in pl ? { variant: pl.variant } : {}),
          tarPath: this.layout.baseTar(pl.debArch),
        })),
      ),
    );
    await writeFile(marker, new Date().toISOString());
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

  stop(): Promise<void> {
    return stopDetached(this.pidFile, 'docker-registry');
  }

  platforms(repository = 'library/debian', tag = `${this.layout.config.suite}-slim`): Promise<string[]> {
    return registryPlatforms(this.addr, repository, tag);
  }
}
