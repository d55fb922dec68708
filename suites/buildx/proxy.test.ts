/**
 * Phase 3a (#209, part): HTTP_PROXY, HTTPS_PROXY and NO_PROXY reach RUN steps (warm-metal's feature;
 * BuildKit's testProxyEnv). A real proxy (tinyproxy) runs on the machine driving the suite with an
 * origin server behind it: the lab's VM reaches it at 10.0.2.2, a board running its own suite at its
 * Docker bridge's gateway (harness/run/proxy-route.ts). The builder is the image under test as a Buildx
 * docker-container builder (`worker=buildx-docker-container`).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ociImage, topLayerFile } from '../../harness/docker/oci-tarball.ts';
import { usePhase } from '../../harness/run/phase-context.ts';
import { proxyRoute } from '../../harness/run/proxy-route.ts';
import { startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { imageUnderTest } from '../../harness/subjects/image-under-test.ts';
import { HttpProxy, TINYPROXY } from '../../harness/target/http-proxy.ts';
import { formatEvidence } from '../../helpers/command-result.ts';
import { type ProxyValues, proxyProblems } from '../../helpers/proxy-evidence.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/buildx/proxy/Dockerfile', import.meta.url));
const ctx = usePhase();
/** The lab's VM reaches the proxy at 10.0.2.2, a board's builders at its Docker bridge's gateway. */
const route = await proxyRoute(ctx.origin, ctx.target);
const unreachable = 'unreachable' in route ? route.unreachable : undefined;
/** Where the builders reach the proxy (only read by checks that run, so with a route). */
const proxyHost = 'address' in route ? route.address : '';
let proxy: HttpProxy;
let worker: WorkerOf<'buildx-docker-container'>;
let dir: string;

beforeAll(async () => {
  if ('unreachable' in route) return;
  proxy = await HttpProxy.start(TINYPROXY, { listen: route.listen, allow: route.allow });
  const image = await imageUnderTest(ctx);
  dir = await ctx.resources.tempDir('proxy');
  await ctx.target.upload(FIXTURE, `${dir}/ctx/Dockerfile`);
  worker = await startWorker(ctx, 'buildx-docker-container', { image });
});

afterAll(async () => {
  await worker?.stop();
  await proxy?.stop();
});

const probePath = `/bka-${ctx.resources.runId}/probe`;

/** A build with the given proxy values, exported to an OCI tarball; returns the build and the tarball. */
async function build(name: string, env: ProxyValues) {
  const tar = `${dir}/${name}.oci.tar`;
  const result = await worker.buildx(
    [
      ...['build', '--progress', 'plain', '--output', `type=oci,dest=${tar}`],
      ...Object.entries(env).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      ...['--build-arg', `PROBE_URL=http://127.0.0.1:${proxy.originPort}${probePath}`, `${dir}/ctx`],
    ],
    { timeoutMs: 15 * 60_000, context: `the proxy fixture (${name})` },
  );
  return { result, tar, image: await ociImage(ctx.target, tar) };
}

let first: ReturnType<typeof build> | undefined;
const proxied = () => ({
  HTTP_PROXY: `http://${proxyHost}:${proxy.port}`,
  HTTPS_PROXY: `http://${proxyHost}:${proxy.port}`,
  NO_PROXY: `bka-${ctx.resources.runId}.invalid`,
});
/** The first build through the proxy (once, whichever check asks first). */
const firstBuild = () => {
  first ??= build('first', proxied());
  return first;
};

describe(workerName('buildx-docker-container'), { tags: [SERVES.extended] }, () => {
  test('HTTP_PROXY, HTTPS_PROXY and NO_PROXY reach RUN, which fetches a URL through the proxy: its log and the origin show it', async ({
    skip,
    annotate,
  }) => {
    if (unreachable) skip(`needs host-proxy: ${unreachable}`);
    await withWorkerLogs(worker, async () => {
      const { tar, image } = await firstBuild();
      const evidence = {
        given: proxied(),
        seenByRun: await topLayerFile(ctx.target, tar, image, 'proxy-env.txt'),
        status: (await topLayerFile(ctx.target, tar, image, 'status.txt')).trim(),
        proxyLog: await proxy.log(),
        probePath,
        viaAtOrigin: proxy.requests.filter((r) => r.url === probePath).map((r) => String(r.headers.via)),
      };
      const forwarded = evidence.proxyLog.split('\n').find((l) => l.includes(probePath));
      await annotate(`RUN got '${evidence.status}'; proxy log: ${forwarded?.trim()}`);
      expect(proxyProblems(evidence)).toEqual([]);
    });
  });

  test('the proxy values are in no image config or history', async ({ skip }) => {
    if (unreachable) skip(`needs host-proxy: ${unreachable}`);
    const { image } = await firstBuild();
    const config = JSON.stringify(image.config);
    for (const value of Object.values(proxied()))
      expect(config.includes(value), `${value} is baked into the image config:\n${config}`).toBe(false);
  });

  test('changing the proxy values does not bust the cache: the RUN step is CACHED and its output unchanged', async ({
    skip,
  }) => {
    if (unreachable) skip(`needs host-proxy: ${unreachable}`);
    await withWorkerLogs(worker, async () => {
      const { tar, image } = await firstBuild();
      const before = proxy.requests.length;
      // A proxy that does not exist: a RUN step that ran again would fail to connect.
      const again = await build('changed', {
        HTTP_PROXY: `http://${proxyHost}:9`,
        HTTPS_PROXY: `http://${proxyHost}:9`,
        NO_PROXY: 'changed.invalid',
      });
      expect(`${again.result.stderr}`, `no CACHED RUN step:\n${formatEvidence(again.result, 40)}`).toMatch(
        /#\d+ \[2\/2\] RUN printf[^\n]*\n#\d+ CACHED/,
      );
      expect(await topLayerFile(ctx.target, again.tar, again.image, 'status.txt')).toBe(
        await topLayerFile(ctx.target, tar, image, 'status.txt'),
      );
      expect(proxy.requests.length, 'the origin was asked again').toBe(before);
    });
  });
});
