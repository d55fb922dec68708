import { errorMessage } from '../../helpers/errors.ts';
import { tailLines } from '../../helpers/tail-buffer.ts';
import { containerLogs } from './container-commands.ts';
import type { DockerEndpoint } from './docker-endpoint.ts';
import { withFailureEvidence } from './failure-evidence.ts';

/** Runs `fn`; on failure the container's logs and `docker inspect` (through the API) are appended to the error. */
export async function withContainerEvidence<T>(
  endpoint: DockerEndpoint,
  id: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (!id) return fn();
  return withFailureEvidence(fn, async () => {
    const logs = await containerLogs(endpoint, id, 200).catch(
      (e: unknown) => `(no logs: ${errorMessage(e)})`,
    );
    const inspect = await endpoint.docker
      .getContainer(id)
      .inspect()
      .then((i) =>
        JSON.stringify({
          State: i.State,
          Entrypoint: i.Config.Entrypoint,
          Cmd: i.Config.Cmd,
          Init: i.HostConfig.Init ?? false,
        }),
      )
      .catch((e: unknown) => `(no inspect: ${errorMessage(e)})`);
    return `container ${id.slice(0, 12)} on ${endpoint.host}, logs (tail):\n${tailLines(logs, 40)}\n\ndocker inspect (state, entrypoint, cmd, init):\n${inspect}`;
  });
}
