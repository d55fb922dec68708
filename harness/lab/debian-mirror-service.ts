/**
 * The lab's Debian mirror as a host service on 127.0.0.1 (10.0.2.2 from the guest): the apt index the
 * VM was provisioned with, pinned, and the upstream pool verified against it (debian-mirror.ts). Image
 * builds in the lab use it, so a Debian mirror caught mid-sync cannot break them.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDebianIndex } from './debian-index.ts';
import { extractAptSnapshot } from './debian-mirror.ts';
import { startDetached, stopDetached } from './detached.ts';
import type { LabLayout } from './layout.ts';
import type { Progress } from './progress.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

export class LabDebianMirror {
  constructor(
    private readonly layout: LabLayout,
    private readonly progress: Progress,
  ) {}

  private get port(): number {
    return this.layout.config.debianMirrorPort;
  }

  /** The snapshot dir the running mirror serves, or undefined when none answers. */
  private async serving(): Promise<string | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/_lab/snapshot`, {
        signal: AbortSignal.timeout(2000),
      });
      return res.ok ? (await res.text()).trim() : undefined;
    } catch {
      return undefined;
    }
  }

  async ensure(vmKey: string): Promise<void> {
    const { suite, mirror } = this.layout.config;
    const snapshot = this.layout.p('apt', vmKey, 'snapshot');
    const serving = await this.serving();
    if (serving === snapshot) return;
    if (serving !== undefined) await this.stop();
    if (!existsSync(join(snapshot, 'dists', suite, 'InRelease'))) {
      await this.progress.step("pinning the VM disk's apt index for the lab's Debian mirror", async () => {
        const index = await readDebianIndex(this.layout.indexFile);
        await extractAptSnapshot(join(this.layout.vmDir(vmKey), 'disk.img'), mirror, snapshot, {
          listedAs: index?.name ?? suite,
          servedAs: suite,
        });
        // The mirror says which index it pins and why, at /debian/debian-index.json.
        if (index)
          await writeFile(join(snapshot, 'debian-index.json'), `${JSON.stringify(index, null, 2)}\n`);
      });
    }
    const pool = this.layout.p('apt', 'archive');
    await mkdir(pool, { recursive: true });
    await startDetached({
      what: 'the Debian mirror',
      argv: [
        process.execPath,
        '--import',
        'tsx',
        join(HERE, 'debian-mirror-main.ts'),
        snapshot,
        pool,
        mirror,
        String(this.port),
      ],
      cwd: join(HERE, '..', '..'),
      log: this.layout.p('logs', 'debian-mirror.log'),
      pidFile: this.layout.p('apt', 'pid'),
      port: this.port,
      timeoutMs: 30_000,
      up: async () => (await this.serving()) === snapshot,
    });
  }

  stop(): Promise<void> {
    return stopDetached(this.layout.p('apt', 'pid'), 'debian-mirror-main');
  }
}
