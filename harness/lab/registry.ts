/**
 * The lab's registry (Debian's docker-registry) on 127.0.0.1, serving the `debian:<suite>-slim` stand-ins
 * and the `busybox` one (busybox.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUSYBOX_REPOSITORY, BUSYBOX_TAG, busyboxRootfs } from './busybox.ts';
import { answers, startDetached, stopDetached } from './detached.ts';
import { BASE_PLATFORMS, type LabLayout } from './layout.ts';
import { pushMultiPlatformImage, registryPlatforms } from './oci-push.ts';
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

  /** Pushes the busybox stand-in once; `debianMirror` is the lab's Debian mirror as this machine reaches it. */
  async ensureBusybox(debianMirror: string): Promise<void> {
    const storage = this.layout.p('registry', this.layout.imagesKey);
    const marker = join(storage, `pushed-busybox-${BUSYBOX_TAG}`);
    if (existsSync(marker)) return;
    const tarPath = this.layout.p('images', this.layout.imagesKey, `busybox-${BUSYBOX_TAG}-riscv64.tar`);
    await this.progress.step(
      `pushing busybox:${BUSYBOX_TAG} (riscv64, Debian's busybox-static) to the lab registry`,
      async () => {
        await busyboxRootfs(debianMirror, this.layout.config.suite, tarPath);
        await pushMultiPlatformImage(this.addr, BUSYBOX_REPOSITORY, BUSYBOX_TAG, [
          {
            os: 'linux',
            architecture: 'riscv64',
            tarPath,
            cmd: ['sh'],
            createdBy: 'busybox-static from Debian (buildkit-acceptance lab)',
          },
        ]);
      },
    );
    await writeFile(marker, new Date().toISOString());
  }

  stop(): Promise<void> {
    return stopDetached(this.pidFile, 'docker-registry');
  }

  platforms(repository = 'library/debian', tag = `${this.layout.config.suite}-slim`): Promise<string[]> {
    return registryPlatforms(this.addr, repository, tag);
  }
}
