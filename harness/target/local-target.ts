import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { CommandError, type CommandResult, makeResult } from '../../helpers/command-result.ts';
import { TailBuffer } from '../../helpers/tail-buffer.ts';
import { killTree, trackProcessGroup } from './process-tree.ts';
import { DEFAULT_TIMEOUT_MS, type ExecOptions, type ReachBack, type Target } from './target.ts';

/** This machine as the target: commands run through execa, each in its own process group. */
export class LocalTarget implements Target {
  readonly kind = 'local' as const;
  readonly host = 'local';

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) throw new TypeError('exec: argv must name a command');
    const started = new Date();
    const t0 = performance.now();
    const stdout = new TailBuffer(options.maxOutputBytes);
    const stderr = new TailBuffer(options.maxOutputBytes);
    let timedOut = false;
    let canceled = false;
    const child = execa(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      input: options.input,
      reject: false,
      buffer: false,
      detached: true,
      stdin: options.input === undefined ? 'ignore' : 'pipe',
    });
    const untrack = trackProcessGroup(child);
    child.stdout?.on('data', (c: Buffer) => stdout.push(c));
    child.stderr?.on('data', (c: Buffer) => stderr.push(c));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killTree(child.pid);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const onAbort = () => {
      canceled = true;
      if (child.pid) killTree(child.pid);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const outcome = await child;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    untrack();
    const spawnError =
      outcome.failed && outcome.exitCode === undefined && !outcome.signal ? outcome : undefined;
    const result = makeResult({
      argv,
      host: this.host,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: stdout.toString(),
      stderr: spawnError
        ? `${stderr.toString()}${spawnError.originalMessage ?? spawnError.shortMessage}`
        : stderr.toString(),
      durationMs: performance.now() - t0,
      timedOut,
      isCanceled: canceled,
      startedAt: started,
    });
    if (result.failed && options.reject !== false) {
      throw new CommandError(result, { cause: spawnError, context: options.context });
    }
    return result;
  }

  async upload(localPath: string, remotePath: string, mode?: number): Promise<void> {
    await mkdir(dirname(remotePath), { recursive: true });
    await copyFile(localPath, remotePath);
    if (mode !== undefined) await chmod(remotePath, mode);
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    await mkdir(dirname(localPath), { recursive: true });
    await copyFile(remotePath, localPath);
  }

  async writeFile(remotePath: string, content: string | Buffer, mode?: number): Promise<void> {
    await mkdir(dirname(remotePath), { recursive: true });
    await writeFile(remotePath, content, mode === undefined ? undefined : { mode });
  }

  readFile(remotePath: string): Promise<Buffer> {
    return readFile(remotePath);
  }

  async dockerSocket(): Promise<string> {
    const host = process.env.DOCKER_HOST;
    if (host?.startsWith('unix://')) return host.slice('unix://'.length);
    return '/var/run/docker.sock';
  }

  /** This machine is the target: its loopback port is already there. */
  async reachBack(localPort: number): Promise<ReachBack> {
    return { port: localPort, close: async () => {} };
  }

  async close(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
