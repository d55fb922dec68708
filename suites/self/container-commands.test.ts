import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { demuxDockerStream, execIn, runToCompletion } from '../../harness/docker/container-commands.ts';
import { type DockerEndpoint, dockerFor } from '../../harness/docker/docker-endpoint.ts';
import { TrackedContainer } from '../../harness/docker/tracked-container.ts';
import { ResourceTracker, RUN_LABEL } from '../../harness/target/resources.ts';
import type { SshTarget } from '../../harness/target/ssh-target.ts';
import { CommandError } from '../../helpers/command-result.ts';
import { dockerdUnavailable, TestDockerd } from './fixtures/dockerd.ts';
import { testNeeding } from './fixtures/needs.ts';
import { sshdUnavailable, TestSshd } from './fixtures/sshd.ts';

function frame(stream: 1 | 2, text: string): Buffer {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('demuxDockerStream', () => {
  test('splits a multiplexed stream into stdout and stderr, in order', () => {
    const buf = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err\n'), frame(1, 'out 2\n')]);
    expect(demuxDockerStream(buf)).toEqual({ stdout: 'out 1\nout 2\n', stderr: 'err\n' });
  });

  test('takes a raw (TTY) stream as stdout', () => {
    expect(demuxDockerStream(Buffer.from('plain text output\n'))).toEqual({
      stdout: 'plain text output\n',
      stderr: '',
    });
  });
});

const reason = sshdUnavailable() ?? dockerdUnavailable();
const test = testNeeding(reason);

/**
 * The container half of the harness (testcontainers and dockerode through the SSH forward), against a
 * real sshd and a real dockerd on this machine: the same path the container phase takes to the target.
 */
describe('containers on the target through the forwarded Docker socket', () => {
  const IMAGE = 'bka-self/busybox:1';
  let sshd: TestSshd;
  let dockerd: TestDockerd;
  let target: SshTarget;
  let api: DockerEndpoint;
  let resources: ResourceTracker;

  beforeAll(async () => {
    if (reason) return;
    dockerd = await TestDockerd.start();
    await dockerd.importBusybox(IMAGE);
    sshd = await TestSshd.start();
    target = sshd.target({ dockerSocketPath: dockerd.socketPath });
    api = await dockerFor(target);
    resources = new ResourceTracker(target, `self-containers-${process.pid}`);
  }, 120_000);
  afterEach(async () => {
    expect(await resources.cleanup()).toEqual([]);
  });
  afterAll(async () => {
    await resources?.cleanup();
    await target?.close();
    await sshd?.[Symbol.asyncDispose]();
    await dockerd?.[Symbol.asyncDispose]();
  }, 60_000);

  const labelled = async () =>
    (await dockerd.docker(['ps', '-aq', '--filter', `label=${RUN_LABEL}=${resources.runId}`])).stdout
      .split('\n')
      .filter(Boolean);

  test('a tracked container is labelled and registered for removal the moment it exists', async () => {
    const before = resources.pending;
    const c = await new TrackedContainer(IMAGE, resources, api)
      .withNetworkMode('none')
      .withCommand(['sleep', '300'])
      .start();
    expect(resources.pending).toBe(before + 1);
    expect(await labelled()).toContain(c.getId().slice(0, 12));
    await resources.cleanup();
    expect(await labelled()).toEqual([]);
  });

  test('exec in a container gives command evidence: command line, host, exit code, both streams', async () => {
    const c = await new TrackedContainer(IMAGE, resources, api)
      .withNetworkMode('none')
      .withCommand(['sleep', '300'])
      .start();
    const id = c.getId();
    const ok = await execIn(api, id, ['sh', '-c', 'echo out; echo err >&2']);
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n', host: target.host });
    const failed = await execIn(api, id, ['sh', '-c', 'echo why >&2; exit 3'], { reject: false });
    expect(failed).toMatchObject({ exitCode: 3, failed: true, stderr: 'why\n' });
    expect(failed.command).toBe(`docker exec ${id.slice(0, 12)} sh -c 'echo why >&2; exit 3'`);
    const err = await execIn(api, id, ['sh', '-c', 'exit 4'], { context: 'probing' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    expect((err as Error).message.split('\n')[0]).toBe(
      `probing: Command failed with exit code 4: docker exec ${id.slice(0, 12)} sh -c 'exit 4'`,
    );
    const slow = await execIn(api, id, ['sleep', '30'], { timeoutMs: 1000, reject: false });
    expect(slow.timedOut).toBe(true);
    expect(slow.durationMs).toBeLessThan(10_000);
  });

  test('exec in a container that does not exist fails with the engine’s reason, not a hang', async () => {
    const r = await execIn(api, 'no-such-container', ['true'], { reject: false });
    expect(r.failed).toBe(true);
    expect(r.stderr).toMatch(/no such container/i);
  });

  test('a one-shot container reports its exit code and output, and is gone afterwards', async () => {
    const r = await runToCompletion(api, resources, {
      image: IMAGE,
      networkMode: 'none',
      command: ['sh', '-c', 'echo hello; echo oops >&2; exit 5'],
      reject: false,
    });
    expect(r).toMatchObject({ exitCode: 5, stdout: 'hello\n', stderr: 'oops\n' });
    expect(r.command).toBe(
      `docker run --rm --network none ${IMAGE} sh -c 'echo hello; echo oops >&2; exit 5'`,
    );
    expect(await labelled()).toEqual([]);
  });

  test('a one-shot container that outlives its time limit is killed and reported as timed out', async () => {
    const r = await runToCompletion(api, resources, {
      image: IMAGE,
      networkMode: 'none',
      command: ['sleep', '60'],
      timeoutMs: 1500,
      reject: false,
    });
    expect(r.timedOut).toBe(true);
    expect(await labelled()).toEqual([]);
  });

  test('withInit runs the engine’s init as PID 1', async ({ skip }) => {
    const info = await api.docker.info();
    if (!info.InitBinary) skip('this engine has no init binary (docker-init)');
    const c = await new TrackedContainer(IMAGE, resources, api)
      .withNetworkMode('none')
      .withInit()
      .withCommand(['sleep', '300'])
      .start();
    const comm = await execIn(api, c.getId(), ['cat', '/proc/1/comm']);
    expect(comm.stdout.trim()).toBe('docker-init');
  });
});
