import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { SshTarget } from '../../harness/target/ssh-target.ts';
import { CommandError } from '../../helpers/command-result.ts';
import { TargetUnreachableError } from '../../helpers/errors.ts';
import type { TestDockerd as TestDockerdType } from './fixtures/dockerd.ts';
import { testNeeding } from './fixtures/needs.ts';
import { sshdUnavailable, TestSshd } from './fixtures/sshd.ts';

const unavailable = sshdUnavailable();
const test = testNeeding(unavailable);

describe('ssh target against a real OpenSSH server', () => {
  let sshd: TestSshd;
  let target: SshTarget;
  let scratch: string;

  beforeAll(async () => {
    if (unavailable) return;
    sshd = await TestSshd.start({ maxSessions: 10 });
    target = sshd.target();
    scratch = await mkdtemp(join(tmpdir(), 'bka-self-sftp-'));
  });
  afterAll(async () => {
    await target?.close();
    await sshd?.[Symbol.asyncDispose]();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('runs commands with full evidence over one persistent connection', async () => {
    const r = await target.exec(['sh', '-c', 'echo "$1"; echo err >&2', 'sh', "it's quoted"]);
    expect(r).toMatchObject({
      exitCode: 0,
      stdout: "it's quoted\n",
      stderr: 'err\n',
      host: `${sshd.user}@127.0.0.1:${sshd.port}`,
    });
    const err = await target.exec(['sh', '-c', 'exit 7']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as Error).message.split('\n')[0]).toBe("Command failed with exit code 7: sh -c 'exit 7'");
    expect(target.reconnects).toBe(0);
  });

  test('passes cwd, environment and standard input', async () => {
    const r = await target.exec(['sh', '-c', 'pwd; echo "$GREETING"; cat'], {
      cwd: '/tmp',
      env: { GREETING: 'hi there' },
      input: 'stdin!',
    });
    expect(r.stdout).toBe('/tmp\nhi there\nstdin!');
  });

  test('kills a command that outlives its timeout and says so', async () => {
    const r = await target.exec(['sleep', '30'], { timeoutMs: 1000, reject: false });
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(10_000);
  });

  test('runs more commands at once than sshd allows sessions, by bounding channels', async () => {
    const many = Array.from({ length: 25 }, (_, i) => target.exec(['sh', '-c', `sleep 0.3; echo ${i}`]));
    const results = await Promise.all(many);
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
  });

  test('transfers files with sftp over the same connection', async () => {
    const local = join(scratch, 'up.bin');
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    await writeFile(local, payload);
    const remote = join(scratch, 'remote', 'up.bin');
    await target.upload(local, remote, 0o755);
    const back = join(scratch, 'down.bin');
    await target.download(remote, back);
    expect((await readFile(back)).equals(payload)).toBe(true);
    await target.writeFile(join(scratch, 'remote', 'note.txt'), 'hello');
    expect((await target.readFile(join(scratch, 'remote', 'note.txt'))).toString()).toBe('hello');
    const mode = await target.exec(['stat', '-c', '%a', remote]);
    expect(mode.stdout.trim()).toBe('755');
  });

  test("reaches back to this machine's loopback through a remote forward, until it is closed", async () => {
    const server = createServer((_req, res) => res.end('from this machine'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const back = await target.reachBack((server.address() as AddressInfo).port);
      const get = () =>
        target.exec(['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${back.port}/`], { reject: false });
      expect((await get()).stdout).toBe('from this machine');
      await back.close();
      await back.close();
      expect((await get()).exitCode).not.toBe(0);
    } finally {
      server.close();
    }
  });

  test('fails the command in flight when the connection drops, then reconnects once and says so', async () => {
    const lines: string[] = [];
    const t = sshd.target({ log: (l) => lines.push(l) });
    try {
      await t.exec(['true']);
      const inFlight = t.exec(['sleep', '20'], { reject: false });
      await new Promise((r) => setTimeout(r, 500));
      await sshd.dropConnections();
      const r = await inFlight;
      expect(r.failed).toBe(true);
      expect(r.stderr).toMatch(/connection .* was lost/);
      const after = await t.exec(['echo', 'back']);
      expect(after.stdout).toBe('back\n');
      expect(t.reconnects).toBe(1);
      expect(lines.join('\n')).toMatch(/was lost; reconnected/);
    } finally {
      await t.close();
    }
  });

  test('refuses an unknown host key with a sentence that says how to trust it', async () => {
    const t = sshd.target({ hostKey: { knownHostsFiles: [join(scratch, 'empty_known_hosts')] } });
    const t0 = Date.now();
    const err = await t.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetUnreachableError);
    expect((err as Error).message).toMatch(/host key of \[127\.0\.0\.1\]:\d+ \(SHA256:.+\) is unknown/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('refuses a changed host key recorded in known_hosts', async () => {
    const other = (await readFile(join(sshd.dir, 'other_key.pub'), 'utf8')).split(/\s+/);
    const kh = join(scratch, 'changed_known_hosts');
    await writeFile(kh, `[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}\n`);
    const err = await sshd
      .target({ hostKey: { knownHostsFiles: [kh] } })
      .connect()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/has CHANGED/);
  });

  test('accepts a known_hosts entry, and a new key only with the loudly named option', async () => {
    const kh = join(scratch, 'accept_known_hosts');
    const t1 = sshd.target({ hostKey: { knownHostsFiles: [kh], acceptNewHostKey: true } });
    await t1.connect();
    await t1.close();
    expect(await readFile(kh, 'utf8')).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
    const t2 = sshd.target({ hostKey: { knownHostsFiles: [kh] } });
    await t2.connect();
    expect(t2.hostKeyVerifiedBy).toMatch(/known_hosts/);
    await t2.close();
  });

  test('refuses a wrong key quickly, naming the user and the key offered', async () => {
    const t = sshd.target({ identityFiles: [join(sshd.dir, 'other_key')] });
    const t0 = Date.now();
    const err = await t.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetUnreachableError);
    expect((err as Error).message).toMatch(/refused authentication for user \S+ \(offered .*other_key/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('doctor against it prints the target facts and one sentence saying why it is unfit', async () => {
    const { execa } = await import('execa');
    const r = await execa(
      process.execPath,
      [
        'bin/buildkit-acceptance.mjs',
        'doctor',
        '--target',
        `ssh://${sshd.user}@127.0.0.1:${sshd.port}`,
        '--identity-file',
        join(sshd.dir, 'client_key'),
        '--host-key-fingerprint',
        sshd.hostKeyFingerprint,
      ],
      { reject: false, timeout: 60_000 },
    );
    const machine = (await execa('uname', ['-m'])).stdout.trim();
    expect(r.stdout).toMatch(new RegExp(`^target\\.arch\\s+${machine}$`, 'm'));
    expect(r.stdout).toMatch(/^target\.kernel\s+\S+/m);
    if (machine !== 'riscv64') {
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toMatch(
        /^doctor: the target \S+ is \S+, not riscv64 \(pass --allow-non-riscv64 for a dry run\)$/m,
      );
    }
  });

  test('says connection refused quickly when nothing listens', async () => {
    const t = sshd.target({ port: 1 });
    const t0 = Date.now();
    const err = await t.connect().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/connection refused/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test('gives up within the connect timeout on a host that never answers the handshake', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const t = sshd.target({ port, connectTimeoutMs: 1500 });
    const t0 = Date.now();
    const err = await t.connect().catch((e: unknown) => e);
    silent.close();
    expect(err).toBeInstanceOf(TargetUnreachableError);
    expect(Date.now() - t0).toBeLessThan(6000);
  });
});

describe('docker socket forwarded through the ssh connection', async () => {
  const { dockerdUnavailable, TestDockerd } = await import('./fixtures/dockerd.ts');
  const noDocker = dockerdUnavailable();
  let sshd: TestSshd;
  let dockerd: TestDockerdType;
  let target: SshTarget;

  beforeAll(async () => {
    if (unavailable) return;
    if (noDocker) return;
    dockerd = await TestDockerd.start();
    await dockerd.importBusybox('bka-self/busybox:1');
    sshd = await TestSshd.start();
    target = sshd.target({ dockerSocketPath: dockerd.socketPath });
  }, 120_000);
  afterAll(async () => {
    await target?.close();
    await sshd?.[Symbol.asyncDispose]();
    await dockerd?.[Symbol.asyncDispose]();
  }, 60_000);

  test('dockerode reaches the remote engine through the forward', async ({ skip }) => {
    if (noDocker) skip(noDocker);
    const socketPath = await target.dockerSocket();
    const docker = new Dockerode({ socketPath });
    const version = await docker.version();
    expect(version.Version).toMatch(/^\d+\./);
    const images = await docker.listImages({ filters: { reference: ['bka-self/busybox:1'] } });
    expect(images).toHaveLength(1);
  });

  test('testcontainers starts, execs in and stops a container through the forward, without Ryuk', async ({
    skip,
  }) => {
    if (noDocker) skip(noDocker);
    const socketPath = await target.dockerSocket();
    const { configureTestcontainers } = await import('../../harness/docker/docker-endpoint.ts');
    configureTestcontainers(socketPath);
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('bka-self/busybox:1')
      .withCommand(['sleep', '300'])
      .withLabels({ 'io.github.buildkit-riscv64-acceptance.run': 'self-test' })
      .withNetworkMode('none')
      .start();
    try {
      const r = await container.exec(['uname', '-m']);
      expect(r.exitCode).toBe(0);
      expect(r.output.trim()).toBe(process.arch === 'x64' ? 'x86_64' : r.output.trim());
    } finally {
      await container.stop({ timeout: 1 });
    }
    const left = await dockerd.docker([
      'ps',
      '-aq',
      '--filter',
      'label=io.github.buildkit-riscv64-acceptance.run=self-test',
    ]);
    expect(left.stdout.trim()).toBe('');
  });
});
