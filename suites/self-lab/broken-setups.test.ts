/**
 * The verdicts of the buildx and rootless phases, shown failing on setups broken in known ways on the
 * lab: a daemon running as root (the rootless checks), a user without a subuid range (the rootless
 * preflight), a secret written into a layer or passed as a build argument, a cache import that rebuilds,
 * a RUN step that bypassed the proxy, and a daemon that serves clients without a certificate. Each case
 * runs real BuildKit (phase 1's binaries, as root in a privileged container) and feeds what it produced
 * to the same verdict the phase uses; where a good setup is cheap, it is shown passing beside it.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { probeFacts, ROOTLESS_PROBE } from '../../harness/docker/facts.ts';
import { ociImage, tarballOccurrences, topLayerFile } from '../../harness/docker/oci-tarball.ts';
import { GUEST_HOST_ADDR } from '../../harness/lab/layout.ts';
import { loadConfig } from '../../harness/plan/config.ts';
import type { PhaseContext } from '../../harness/run/phase-context.ts';
import { openTarget, planTarget } from '../../harness/run/session.ts';
import { runcMounts, startWorker, type WorkerOf } from '../../harness/sandbox/sandbox.ts';
import { certsOnTarget } from '../../harness/sandbox/target-certs.ts';
import { binariesUnderTest } from '../../harness/subjects/binaries-under-test.ts';
import { HttpProxy } from '../../harness/target/http-proxy.ts';
import { ResourceTracker } from '../../harness/target/resources.ts';
import type { Target } from '../../harness/target/target.ts';
import { BASE_IMAGE } from '../../helpers/buildkitd-toml.ts';
import { cacheHitProblem } from '../../helpers/cache-hit.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { proxyProblems } from '../../helpers/proxy-evidence.ts';
import { registerSecret } from '../../helpers/redact.ts';
import { parsePs, processOwnerProblems, uidMapProblems } from '../../helpers/rootless-evidence.ts';
import { copiesInState, STATE_SCAN } from '../../helpers/state-copies.ts';
import { TLS_REFUSAL, tlsRefusalProblem } from '../../helpers/tls-refusal.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';

const reason = labUnavailable();
const test = testNeeding(reason);
const FIXTURES = fileURLToPath(new URL('../../fixtures/buildx/', import.meta.url));

describe('phase verdicts against broken setups on the lab', () => {
  let ctx: PhaseContext;
  let target: Target;
  let root: WorkerOf<'phase1'>;
  /** The container phase 1's daemon runs in (the lab's user is not root). */
  let rootContainer: string;
  let bin: string;
  let dir: string;

  beforeAll(async () => {
    if (reason) return;
    const plan = await planTarget(loadConfig());
    target = openTarget(plan.config);
    const resources = new ResourceTracker(target);
    const facts = await probeFacts(target);
    ctx = { target, config: plan.config, facts, buildMode: plan.buildMode, origin: plan.origin, resources };
    const bins = await binariesUnderTest(ctx);
    bin = bins.remoteBinDir;
    root = await startWorker(ctx, 'phase1', { binaries: bins });
    if (!root.container)
      throw new Error(`the lab's user is ${facts.user}: phase 1 should run as a privileged container`);
    rootContainer = root.container;
    await root.ready();
    dir = await resources.tempDir('broken-setups');
    for (const f of ['cache', 'export', 'proxy', 'broken/secret-in-layer', 'broken/secret-as-build-arg'])
      await target.upload(`${FIXTURES}${f}/Dockerfile`, `${dir}/${f}/Dockerfile`);
  }, 30 * 60_000);

  afterAll(async () => {
    const failures = await ctx?.resources.cleanup();
    await target?.close();
    expect(failures ?? []).toEqual([]);
  }, 300_000);

  /** A Dockerfile build of a fixture on the root daemon. */
  const build = (fixture: string, args: string[], env?: Record<string, string>) =>
    root.buildctl(
      [
        ...['build', '--frontend', 'dockerfile.v0', '--progress', 'plain'],
        ...['--local', `context=${dir}/${fixture}`, '--local', `dockerfile=${dir}/${fixture}`],
        ...args,
      ],
      { timeoutMs: 15 * 60_000, context: `a build of ${fixture} on the root daemon`, env },
    );
  const read = async (path: string) => (await target.exec(['cat', path])).stdout;

  test('the rootless checks fail for a daemon running as root: uid 0 processes, the host user namespace', async () => {
    const pid = (
      await target.exec(['docker', 'inspect', '-f', '{{.State.Pid}}', rootContainer])
    ).stdout.trim();
    const pgid = (await target.exec(['ps', '-o', 'pgid=', '-p', pid])).stdout.trim();
    const rows = parsePs((await target.exec(['ps', '-o', 'uid=,pid=,comm=', '-g', pgid])).stdout);
    expect(processOwnerProblems(rows, ctx.facts.uid)).toContainEqual(
      expect.stringMatching(/^buildkitd \(pid \d+\) runs as uid 0 on the host/),
    );
    const map = await read(`/proc/${pid}/uid_map`);
    const sub = (
      await target.exec(['sh', '-c', 'grep -E "^($(id -un)|$(id -u)):" /etc/subuid | head -n1'])
    ).stdout.trim();
    expect(sub, 'the lab user has a subuid range').not.toBe('');
    const problems = uidMapProblems(map, sub, ctx.facts.uid);
    expect(problems).toContainEqual(expect.stringMatching(/^uid 0 inside is uid 0 \(root\) on the host/));
    expect(problems).toContain(`root inside is not mapped to uid ${ctx.facts.uid} alone`);
  });

  test('the rootless preflight names a missing subuid range, and the uid_map check refuses a map without one', async () => {
    const file = `${dir}/subuid-without-the-user`;
    await target.writeFile(file, 'someone-else:100000:65536\n');
    const probe = (file?: string) =>
      target.exec(['sh', '-c', `${ROOTLESS_PROBE}\nrootless "$1" /etc/subgid`, 'sh', file ?? '']);
    expect((await probe(file)).stdout.trim()).toBe(
      `no range for ${ctx.facts.user} in ${file} (add one: usermod --add-subuids/--add-subgids)`,
    );
    // The same function with the system's files: the lab is ready for rootless.
    expect((await probe()).stdout.trim()).toBe('');
    const map = `0 ${ctx.facts.uid} 1\n1 100000 65536\n`;
    expect(uidMapProblems(map, '', ctx.facts.uid)).toEqual([
      'the user has no subordinate uid range in /etc/subuid',
    ]);
  });

  test('the secret check finds a secret written into a layer (gzip or zstd) and one passed as a build argument', async () => {
    const token = `bka-leak-${randomBytes(12).toString('hex')}`;
    registerSecret(token);
    const secret = ['--secret', 'id=token,env=BKA_SECRET_TOKEN'];
    await build('broken/secret-in-layer', [...secret, '--output', `type=oci,dest=${dir}/in-layer.tar`], {
      BKA_SECRET_TOKEN: token,
    });
    expect(await tarballOccurrences(target, `${dir}/in-layer.tar`, token)).toContainEqual(
      expect.stringMatching(/^layer sha256:[0-9a-f]{64}$/),
    );
    await build(
      'broken/secret-in-layer',
      [...secret, '--output', `type=oci,dest=${dir}/zstd.tar,compression=zstd,force-compression=true`],
      { BKA_SECRET_TOKEN: token },
    );
    // A zstd layer is unpacked, or the search refuses to call an unread layer clean.
    const zstd = await tarballOccurrences(target, `${dir}/zstd.tar`, token).catch((e: Error) => e);
    if (zstd instanceof Error) expect(zstd.message).toMatch(/cannot unpack zstd layer/);
    else expect(zstd).toContainEqual(expect.stringMatching(/^layer sha256:/));
    await build('broken/secret-as-build-arg', [
      ...['--opt', `build-arg:TOKEN=${token}`, '--output', `type=oci,dest=${dir}/as-arg.tar`],
    ]);
    expect(await tarballOccurrences(target, `${dir}/as-arg.tar`, token)).toContain("the tarball's files");
  });

  test('the cache check catches an import that rebuilds (a cache ref that is not there), and passes the real one', async () => {
    const mirror = ctx.config.registryMirror;
    expect(mirror, 'the lab has a registry').toBeTruthy();
    const ref = `${mirror}/bka-self/cache:${ctx.resources.runId}`;
    const from = (r: string) => ['--import-cache', `type=registry,ref=${r},registry.insecure=true`];
    await build('cache', [
      ...['--export-cache', `type=registry,ref=${ref},mode=max,registry.insecure=true`],
      ...['--output', `type=local,dest=${dir}/rand-first`],
    ]);
    const first = await read(`${dir}/rand-first/rand.txt`);
    await root.buildctl(['prune', '--all']);
    await build('cache', [...from(ref), '--output', `type=local,dest=${dir}/rand-hit`]);
    expect(cacheHitProblem(first, await read(`${dir}/rand-hit/rand.txt`), ref)).toBeUndefined();
    await root.buildctl(['prune', '--all']);
    const typo = `${ref}-typo`;
    await build('cache', [...from(typo), '--output', `type=local,dest=${dir}/rand-miss`]);
    expect(cacheHitProblem(first, await read(`${dir}/rand-miss/rand.txt`), typo)).toMatch(
      /the RUN step ran again after importing/,
    );
  });

  test('the proxy check catches a RUN step whose request bypassed the proxy', async () => {
    const proxy = await HttpProxy.start();
    try {
      const probePath = `/bka-${ctx.resources.runId}/bypass`;
      // The "proxy" RUN is given is the origin itself: the request reaches it, but not through tinyproxy.
      const given = {
        HTTP_PROXY: `http://${GUEST_HOST_ADDR}:${proxy.originPort}`,
        HTTPS_PROXY: `http://${GUEST_HOST_ADDR}:${proxy.originPort}`,
        NO_PROXY: 'bypass.invalid',
      };
      await build('proxy', [
        ...Object.entries(given).flatMap(([k, v]) => ['--opt', `build-arg:${k}=${v}`]),
        ...['--opt', `build-arg:PROBE_URL=http://127.0.0.1:${proxy.originPort}${probePath}`],
        ...['--output', `type=oci,dest=${dir}/bypass.tar`],
      ]);
      const tar = `${dir}/bypass.tar`;
      const image = await ociImage(target, tar);
      const problems = proxyProblems({
        given,
        seenByRun: await topLayerFile(target, tar, image, 'proxy-env.txt'),
        status: (await topLayerFile(target, tar, image, 'status.txt')).trim(),
        proxyLog: await proxy.log(),
        probePath,
        viaAtOrigin: proxy.requests
          .filter((r) => r.url.endsWith(probePath))
          .map((r) => String(r.headers.via)),
      });
      expect(problems).toContainEqual(expect.stringMatching(/^the proxy's log has no request for/));
      expect(problems).toContainEqual(expect.stringMatching(/^the origin saw \d+ request\(s\)/));
    } finally {
      await proxy.stop();
    }
  });

  test("the containerd worker's once-only check finds the second copy a worker with its own content store keeps", async () => {
    const mark = `bka-${ctx.resources.runId}-oci-worker`;
    await build('export', [
      ...['--opt', `build-arg:MARK=${mark}`, '--output', `type=oci,dest=${dir}/export.tar`],
    ]);
    const layers = (await ociImage(target, `${dir}/export.tar`)).manifest.layers.map((l) => l.digest);
    const scan = await target.exec(
      ['docker', 'exec', rootContainer, 'sh', '-c', STATE_SCAN, 'sh', `${mark} riscv64`, '/var/lib/buildkit'],
      { timeoutMs: 120_000 },
    );
    const copies = copiesInState(scan.stdout, layers);
    expect(copies).toContainEqual(expect.stringMatching(/^\/var\/lib\/buildkit\/.*/));
    expect(copies).toContain(layers.at(-1));
  });

  test('the TLS refusal check catches a daemon that serves clients without a certificate, and passes one that asks for it', async () => {
    const certs = await certsOnTarget(target, ctx.resources);
    /** A buildkitd on TCP with the server certificate and `flags`, in its own privileged container. */
    const daemon = async (kind: string, flags: string[]) => {
      const name = ctx.resources.name(kind);
      const run = await target.exec([
        ...['docker', 'run', '-d', '--privileged', '--name', name, ...ctx.resources.labelFlags],
        ...['-v', `${certs}:/certs:ro`, '-v', `${bin}:/opt/bka/bin:ro`, ...(await runcMounts(target))],
        ...['--entrypoint', '/opt/bka/bin/buildkitd', BASE_IMAGE, '--addr', 'tcp://127.0.0.1:1234'],
        ...['--tlscert', '/certs/server.pem', '--tlskey', '/certs/server-key.pem', ...flags],
      ]);
      ctx.resources.container(run.stdout.trim());
      return name;
    };
    // The broken one has no --tlscacert; the good one asks for client certificates from the CA.
    const open = await daemon('open-tls', []);
    const mtls = await daemon('mtls', ['--tlscacert', '/certs/ca.pem']);
    const probe = (name: string) =>
      target.exec(
        [
          ...['docker', 'exec', name, '/opt/bka/bin/buildctl', '--timeout', '20'],
          ...['--addr', 'tcp://127.0.0.1:1234', '--tlsservername', 'localhost'],
          ...['--tlscacert', '/certs/ca.pem', 'debug', 'workers'],
        ],
        { reject: false, timeoutMs: 60_000 },
      );
    // Each daemon is waited for until it answers the handshake one way or the other.
    const answered = (name: string) =>
      pollUntil(
        async () => {
          const r = await probe(name);
          // Served, or refused by the TLS handshake: an answer. Anything else (not listening yet): wait.
          return !r.failed || TLS_REFUSAL.test(r.stderr) ? r : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 2000, what: `the daemon in ${name} to answer` },
      );
    expect(tlsRefusalProblem(await answered(open), 'without a client certificate')).toMatch(
      /^the daemon served a client without a client certificate/,
    );
    expect(tlsRefusalProblem(await answered(mtls), 'without a client certificate')).toBeUndefined();
  });
});
