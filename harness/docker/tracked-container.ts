import { GenericContainer } from 'testcontainers';
import type { ResourceTracker } from '../target/resources.ts';
import { trackContainer } from './container-commands.ts';
import type { DockerEndpoint } from './docker-endpoint.ts';

/**
 * A testcontainers container that carries the run's label and registers its removal with the tracker
 * the moment Docker has created it (before it starts, so a failed start leaves nothing behind).
 * Readiness is the test's to check (testcontainers' default waits only for ports it exposes itself).
 */
export class TrackedContainer extends GenericContainer {
  constructor(
    image: string,
    private readonly resources: ResourceTracker,
    /** The engine testcontainers talks to (see dockerFor): removal goes through the same API. */
    private readonly endpoint: DockerEndpoint,
  ) {
    super(image);
    this.withLabels(resources.labels);
  }

  /** `docker run --init`: the engine's docker-init becomes PID 1 and reaps the container's orphans. */
  withInit(): this {
    this.hostConfig.Init = true;
    return this;
  }

  /** Publishes a container port on the target's loopback only (`-p 127.0.0.1::PORT`). */
  withLoopbackPort(port: number): this {
    const key = `${port}/tcp`;
    this.createOpts.ExposedPorts = { ...this.createOpts.ExposedPorts, [key]: {} };
    this.hostConfig.PortBindings = {
      ...this.hostConfig.PortBindings,
      [key]: [{ HostIp: '127.0.0.1', HostPort: '' }],
    };
    return this;
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    trackContainer(this.resources, this.endpoint, containerId);
  }
}
