import Dockerode from 'dockerode';
import type { Target } from '../target/target.ts';

export interface DockerEndpoint {
  /** A local unix socket that reaches the target's engine. */
  socketPath: string;
  docker: Dockerode;
  /** Where the engine runs, for evidence: `local` or `user@host:port`. */
  host: string;
}

const endpoints = new WeakMap<Target, Promise<DockerEndpoint>>();

/**
 * The target's Docker engine for dockerode and testcontainers: a local unix socket (locally the engine's
 * own, over SSH a forward through the target's connection). testcontainers runs with Ryuk disabled
 * (no riscv64 Ryuk image, no registry): the suite's resource tracker and janitor clean up by label.
 * One endpoint per target; testcontainers is pointed at it the first time.
 */
export function dockerFor(target: Target): Promise<DockerEndpoint> {
  let endpoint = endpoints.get(target);
  if (!endpoint) {
    endpoint = target.dockerSocket().then((socketPath) => {
      configureTestcontainers(socketPath);
      // An explicit socketPath is ignored by docker-modem when DOCKER_HOST is tcp/ssh: pass it as the only option.
      return { socketPath, docker: new Dockerode({ socketPath }), host: target.host };
    });
    endpoint.catch(() => endpoints.delete(target));
    endpoints.set(target, endpoint);
  }
  return endpoint;
}

/** Points testcontainers at the socket; call before its first use in the process. */
export function configureTestcontainers(socketPath: string): void {
  process.env.DOCKER_HOST = `unix://${socketPath}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE = '/var/run/docker.sock';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}
