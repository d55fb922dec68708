/**
 * `worker=host-amd64`: a native amd64 BuildKit on the machine running the suite, for a multi-node
 * builder (a riscv64 node on the target plus this one for linux/amd64). Only the lab has it: the
 * x86-64 machine is the lab's host, and the VM reaches it at 10.0.2.2. It is phase 1's build of the
 * same ref for amd64, run as root with this machine's runc, on TCP with mTLS. The process group is
 * tracked from its start and killed at cleanup; its state lives in a local temp dir.
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildBinaries } from '../../build/binaries.ts';
import { buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { GUEST_HOST_ADDR } from '../lab/layout.ts';
import type { PhaseContext } from '../run/phase-context.ts';
import { freeLoopbackPort } from '../target/local-port.ts';
import { localTempDir } from '../target/local-temp.ts';
import { killTree, trackProcessGroup } from '../target/process-tree.ts';

/** Why this run cannot have a native amd64 node, or undefined. */
export async function hostNodeProblem(ctx: PhaseContext): Promise<string | undefined> {
  if (ctx.origin !== 'lab')
    return `only the lab has one of its own (its x86-64 host); this target is ${ctx.origin}`;
  if (process.arch !== 'x64') return `the lab's host is ${process.arch}, not x86-64`;
  if (process.getuid?.() !== 0) return 'the lab host runs the suite as a user that is not root';
  const runc = await execa('runc', ['--version'], { reject: false });
  if (runc.failed) return 'no runc on the lab host (scripts/setup.sh installs docker.io, which brings it)';
  return undefined;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

export class HostNodeWorker implements AsyncDisposable {
  readonly name = 'host-amd64';
  private stopped: Promise<void> | undefined;

  private constructor(
    readonly port: number,
    private readonly pid: number,
    private readonly untrack: () => void,
    private readonly log: string,
    readonly how: string,
  ) {}

  /** As the target reaches it. */
  get address(): string {
    return `tcp://${GUEST_HOST_ADDR}:${this.port}`;
  }

  /** Starts it with `certs` (a local dir: ca.pem, server.pem, server-key.pem) and waits until it answers. */
  static async start(ctx: PhaseContext, certs: string): Promise<HostNodeWorker> {
    const bins = await buildBinaries({
      ref: ctx.config.buildkitRef,
      goarch: 'amd64',
      log: (l) => process.stderr.write(`${l}\n`),
    });
    const dir = await localTempDir('host-amd64');
    const port = await freeLoopbackPort();
    const toml = join(dir, 'buildkitd.toml');
    await writeFile(toml, buildkitdToml(`127.0.0.1:${ctx.config.lab.registryPort}`));
    const log = join(dir, 'buildkitd.log');
    const out = openSync(log, 'a');
    const child = spawn(
      join(bins.binDir, 'buildkitd'),
      [
        ...['--root', join(dir, 'state'), '--config', toml, '--addr', `tcp://127.0.0.1:${port}`],
        ...['--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'server.pem')],
        ...['--tlskey', join(certs, 'server-key.pem'), '--oci-worker-gc=false'],
      ],
      { detached: true, stdio: ['ignore', out, out] },
    );
    const untrack = trackProcessGroup(child);
    const how = `native amd64 buildkitd (${bins.manifest.version}, phase 1's build for amd64) on the lab host, TCP+mTLS`;
    const worker = new HostNodeWorker(port, child.pid ?? -1, untrack, log, how);
    ctx.resources.defer('the lab host amd64 buildkitd', () => worker.stop());
    const buildctl = join(bins.binDir, 'buildctl');
    await pollUntil(
      async () => {
        const r = await execa(
          buildctl,
          [
            ...['--addr', `tcp://127.0.0.1:${port}`, '--tlsservername', 'localhost'],
            ...['--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'client.pem')],
            ...['--tlskey', join(certs, 'client-key.pem'), 'debug', 'workers'],
          ],
          { reject: false, timeout: 20_000 },
        );
        return r.failed ? undefined : true;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 1000,
        what: 'the amd64 buildkitd on the lab host to answer',
        giveUp: async () =>
          child.exitCode !== null ? `it exited; its log:\n${await worker.logs()}` : undefined,
      },
    );
    return worker;
  }

  logs(): Promise<string> {
    return readFile(this.log, 'utf8').catch(() => '');
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.pid > 0) {
        killTree(this.pid, 10_000);
        // Wait for it to unmount its state and exit before its temp dir goes.
        await pollUntil(async () => (processGone(this.pid) ? true : undefined), {
          timeoutMs: 20_000,
          intervalMs: 250,
          what: `the amd64 buildkitd (pid ${this.pid}) to exit`,
        }).catch(() => undefined);
      }
      this.untrack();
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
