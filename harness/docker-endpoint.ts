import Dockerode from 'dockerode';
import type { Target } from './target.ts';

/**
 * The target's Docker engine for dockerode and testcontainers: a local unix socket (locally the engine's
 * own, over SSH a forward through the target's connection). testcontainers runs with Ryuk disabled
 * (no riscv64 Ryuk image, no registry): the suite's resource tracker and janitor clean up by label.
 */
export async function dockerFor(target: Target): Promise<{ socketPath: string; docker: Dockerode }> {
  const socketPath = await target.dockerSocket();
  // An explicit socketPath is ignored by docker-modem when DOCKER_HOST is tcp/ssh: pass it as the only option.
  return { socketPath, docker: new Dockerode({ socketPath }) };
}

/** Points testcontainers at the socket; call before its first use in the process. */
export function configureTestcontainers(socketPath: string): void {
  process.env.DOCKER_HOST = `unix://${socketPath}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE = '/var/run/docker.sock';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}
