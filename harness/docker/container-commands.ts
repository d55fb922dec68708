import type Dockerode from 'dockerode';
import { CommandError, type CommandResult, makeResult } from '../../helpers/command-result.ts';
import { errorMessage } from '../../helpers/errors.ts';
import type { ResourceTracker } from '../target/resources.ts';
import { DEFAULT_TIMEOUT_MS } from '../target/target.ts';
import type { DockerEndpoint } from './docker-endpoint.ts';

/** Splits Docker's multiplexed stream format (8-byte frame headers) into stdout and stderr. */
export function demuxDockerStream(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) {
      // Not multiplexed (a TTY container): all of it is output.
      return { stdout: buf.toString('utf8'), stderr: '' };
    }
    const len = buf.readUInt32BE(i + 4);
    (type === 2 ? err : out).push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Removes a container and its anonymous volumes through the API; one already gone is fine. */
export async function removeContainer(endpoint: DockerEndpoint, id: string): Promise<void> {
  try {
    await endpoint.docker.getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/** Registers the removal of a container created through the API, with the same API. */
export function trackContainer(resources: ResourceTracker, endpoint: DockerEndpoint, id: string): void {
  resources.defer(`container ${id.slice(0, 12)} on ${endpoint.host}`, () => removeContainer(endpoint, id));
}

export interface ContainerExecOptions {
  /** Default 10 minutes; then the exec's stream is dropped and the result says it timed out. */
  timeoutMs?: number;
  reject?: boolean;
  /** A sentence prefixed to the failure message. */
  context?: string;
}

function finish(
  argv: readonly string[],
  host: string,
  startedAt: Date,
  t0: number,
  outcome: { exitCode?: number; stdout: string; stderr: string; timedOut?: boolean },
  options: ContainerExecOptions,
  cause?: unknown,
): CommandResult {
  const result = makeResult({
    argv,
    host,
    exitCode: outcome.exitCode,
    signal: undefined,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    durationMs: performance.now() - t0,
    timedOut: outcome.timedOut,
    startedAt,
  });
  if (result.failed && options.reject !== false)
    throw new CommandError(result, { cause, context: options.context });
  return result;
}

/**
 * `docker exec` through the API: the same evidence as a command on the target (the command line as a
 * person would type it, the engine's host, exit code, both streams, duration).
 */
export async function execIn(
  endpoint: DockerEndpoint,
  id: string,
  argv: readonly string[],
  options: ContainerExecOptions = {},
): Promise<CommandResult> {
  const shown = ['docker', 'exec', id.slice(0, 12), ...argv];
  const startedAt = new Date();
  const t0 = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let stdout = '';
  let stderr = '';
  try {
    const exec = await endpoint.docker
      .getContainer(id)
      .exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    const ended = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        resolve(false);
      }, timeoutMs);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        clearTimeout(timer);
        resolve(true);
      });
      stream.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    ({ stdout, stderr } = demuxDockerStream(Buffer.concat(chunks)));
    if (!ended)
      return finish(shown, endpoint.host, startedAt, t0, { stdout, stderr, timedOut: true }, options);
    const { ExitCode } = await exec.inspect();
    return finish(
      shown,
      endpoint.host,
      startedAt,
      t0,
      { exitCode: ExitCode ?? undefined, stdout, stderr },
      options,
    );
  } catch (err) {
    if (err instanceof CommandError) throw err;
    stderr += `\n[harness] ${errorMessage(err)}`;
    return finish(shown, endpoint.host, startedAt, t0, { stdout, stderr }, options, err);
  }
}

export interface OneShotOptions extends ContainerExecOptions {
  image: string;
  command?: string[];
  entrypoint?: string[];
  /** `-v host:container[:ro]` on the target. */
  binds?: string[];
  networkMode?: string;
  privileged?: boolean;
}

/** The `docker run --rm ...` line a person would type for the same container (for evidence). */
function runLine(o: OneShotOptions): string[] {
  return [
    'docker',
    'run',
    '--rm',
    ...(o.privileged ? ['--privileged'] : []),
    ...(o.networkMode ? ['--network', o.networkMode] : []),
    ...(o.binds ?? []).flatMap((b) => ['-v', b]),
    ...(o.entrypoint ? ['--entrypoint', o.entrypoint.join(' ')] : []),
    o.image,
    ...(o.command ?? []),
  ];
}

/**
 * Runs a container to completion through the API (create, start, wait, logs, remove): its exit code
 * and output as command evidence. Labelled and tracked from creation; removed when done.
 */
export async function runToCompletion(
  endpoint: DockerEndpoint,
  resources: ResourceTracker,
  o: OneShotOptions,
): Promise<CommandResult> {
  const shown = runLine(o);
  const startedAt = new Date();
  const t0 = performance.now();
  let container: Dockerode.Container | undefined;
  try {
    container = await endpoint.docker.createContainer({
      Image: o.image,
      Cmd: o.command,
      Entrypoint: o.entrypoint,
      Labels: resources.labels,
      HostConfig: { Binds: o.binds, NetworkMode: o.networkMode, Privileged: o.privileged ?? false },
    });
    trackContainer(resources, endpoint, container.id);
    await container.start();
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      container.wait() as Promise<{ StatusCode: number }>,
      new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!waited) await container.kill().catch(() => {});
    const { stdout, stderr } = demuxDockerStream(
      Buffer.from((await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer),
    );
    await removeContainer(endpoint, container.id);
    return finish(
      shown,
      endpoint.host,
      startedAt,
      t0,
      { exitCode: waited?.StatusCode, stdout, stderr, timedOut: !waited },
      o,
    );
  } catch (err) {
    if (err instanceof CommandError) throw err;
    if (container) await removeContainer(endpoint, container.id).catch(() => {});
    return finish(
      shown,
      endpoint.host,
      startedAt,
      t0,
      { stdout: '', stderr: `[harness] ${errorMessage(err)}` },
      o,
      err,
    );
  }
}
