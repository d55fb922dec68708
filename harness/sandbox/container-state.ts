/** What every worker whose daemon is a container on the target asks Docker: its log tail, whether it runs. */
import type { Target } from '../target/target.ts';

export async function containerLogs(target: Target, container: string, lines = 300): Promise<string> {
  const r = await target.exec(['docker', 'logs', '--tail', String(lines), container], { reject: false });
  return `${r.stdout}${r.stderr}`;
}

export async function containerRunning(target: Target, container: string): Promise<boolean> {
  const r = await target.exec(['docker', 'inspect', '-f', '{{.State.Running}}', container], {
    reject: false,
  });
  return r.stdout.trim() === 'true';
}

/** What Docker says of the container, for a failure: its state, entrypoint, command and init. */
export async function containerState(target: Target, container: string): Promise<string> {
  const r = await target.exec(
    [
      ...['docker', 'inspect', '-f'],
      '{{json .State}} entrypoint={{json .Config.Entrypoint}} cmd={{json .Config.Cmd}} init={{json .HostConfig.Init}}',
      container,
    ],
    { reject: false },
  );
  return r.failed ? `(not inspectable: ${r.stderr.trim()})` : r.stdout.trim();
}

/** The container's start, as Docker records it (`State.StartedAt`, with its restart count): it changes when its process restarts. */
export async function containerStart(target: Target, container: string): Promise<string> {
  const r = await target.exec(
    ['docker', 'inspect', '-f', '{{.State.StartedAt}} restarts={{.RestartCount}}', container],
    { reject: false },
  );
  return r.failed ? `(not inspectable: ${r.stderr.trim()})` : r.stdout.trim();
}

/** `docker buildx rm --force` (idempotent: a builder already gone is not an error here). */
export async function removeBuilder(target: Target, builder: string): Promise<void> {
  await target.exec(['docker', 'buildx', 'rm', '--force', builder], { reject: false, timeoutMs: 120_000 });
}
