/**
 * Phase 3a (#209, part): Buildx driving the BuildKit of the image under test on the target. One test
 * list runs on each Buildx builder the sandbox provides (Buildx's tests/workers): docker-container, a
 * remote builder over TCP with mTLS, and a remote builder to docker-container://NAME. Checks of what the
 * driver carries (bootstrap, exports, secrets) run on every driver; checks of the
 * daemon's own bookkeeping (parallel solves, du/prune) and of the driver's own container run where
 * they apply. docker-container and remote-mtls run side by side, each list in order, then
 * remote-docker-container. Each check passes only on what the
 * build produced, read back from the target. Over 250 lines: it is the one list every builder runs
 * (Buildx's tests/build.go is one file for the same reason).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ociImage, tarballOccurrences, topLayerFile } from '../../harness/docker/oci-tarball.ts';
import { pushedImage } from '../../harness/docker/registry-http.ts';
import { usePhase } from '../../harness/run/phase-context.ts';
import { pushRegistry, pushRegistryAhead } from '../../harness/run/run-registry.ts';
import { remoteTlsOpts, startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { certsOnTarget } from '../../harness/sandbox/target-certs.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import { type ImageUnderTest, imageUnderTest } from '../../harness/subjects/image-under-test.ts';
import { ordered } from '../../harness/target/in-order.ts';
import { buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import { cacheHitProblem } from '../../helpers/cache-hit.ts';
import { formatEvidence } from '../../helpers/command-result.ts';
import { registerSecret } from '../../helpers/redact.ts';
import { tlsRefusalProblem } from '../../helpers/tls-refusal.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/buildx/', import.meta.url));
const ctx = usePhase();
const PROBE = `bka-${ctx.resources.runId}`;
const TOML = `${buildkitdToml(ctx.config.registryMirror)}\n[worker.oci]\n  labels = { "io.github.buildkit-riscv64-acceptance.probe" = "${PROBE}" }\n`;
let image: ImageUnderTest;
let fixtures: string;
let certs: string;

beforeAll(async () => {
  // The run's own registry starts beside the builders' bootstrap; its first use awaits it (and its error).
  pushRegistryAhead(ctx);
  image = await imageUnderTest(ctx);
  fixtures = await ctx.resources.tempDir('buildx-phase');
  for (const f of ['export', 'secret', 'cache'])
    await ctx.target.upload(join(FIXTURES, f, 'Dockerfile'), `${fixtures}/${f}/Dockerfile`);
  certs = await certsOnTarget(ctx.target, ctx.resources);
});

const read = async (path: string) => (await ctx.target.exec(['cat', path])).stdout;

/** One test list, three Buildx builders (Buildx's tests/workers). */
const KINDS = ['buildx-docker-container', 'remote-mtls', 'remote-docker-container'] as const;

for (const kind of KINDS) {
  // remote-docker-container runs after the other two: Buildx 0.13 dials it through `docker exec` with a
  // fixed 20 s deadline for every command, which the TCG lab misses while two builders build beside it.
  describe(workerName(kind), {
    concurrent: kind !== 'remote-docker-container',
    tags: [SERVES['#209']],
  }, () => {
    let worker: WorkerOf<(typeof KINDS)[number]>;
    let dir: string;
    beforeAll(async () => {
      worker = await startWorker(ctx, kind, { image, toml: TOML, certsDir: certs });
      dir = `${fixtures}/${kind}`;
      await ctx.target.exec(['mkdir', '-p', dir]);
    });
    afterAll(async () => {
      await worker?.stop();
    });
    /** `docker buildx build` of a fixture on this builder; the evidence carries its progress. */
    const build = (
      fixture: string,
      args: string[],
      options: { reject?: boolean; env?: Record<string, string> } = {},
    ) =>
      worker.buildx(['build', '--progress', 'plain', ...args, `${fixtures}/${fixture}`], {
        timeoutMs: 15 * 60_000,
        context: `buildx build of the ${fixture} fixture on worker=${kind}`,
        ...options,
      });
    const ownDaemon = kind === 'buildx-docker-container';
    // remote-docker-container shares the remote driver's export path with remote-mtls (only the dial
    // differs, which bootstrap, the toml and secrets prove): it skips the exports, for CI's budget.
    /** This builder's checks, one at a time and in the order written (the builders run side by side). */
    const step = ordered(test);

    step(
      "runs the image's BuildKit (the version asked for) with linux/riscv64 among its platforms",
      async ({ annotate }) => {
        await withWorkerLogs(worker, async () => {
          const inspect = (await worker.buildx(['inspect'])).stdout;
          const buildx = (await ctx.target.exec(['docker', 'buildx', 'version'])).stdout.trim();
          await annotate(
            `${buildx}; ${inspect
              .split('\n')
              .filter((l) => /Status|BuildKit|Platforms/i.test(l))
              .join('; ')}`,
          );
          expect(inspect).toMatch(/Status:\s+running/);
          const version = /BuildKit(?: version)?:\s+(\S+)/i.exec(inspect)?.[1];
          // From what was asked for (image-under-test.ts), never from the image's labels.
          expect(image.expectedVersion, image.expectedFrom).toBeDefined();
          expect(version, `buildx inspect:\n${inspect}; expected from ${image.expectedFrom}`).toBe(
            image.expectedVersion,
          );
          expect(/Platforms:\s+(.*)/.exec(inspect)?.[1] ?? '').toContain('linux/riscv64');
        });
      },
    );

    step('the buildkitd.toml it was given takes effect', async () => {
      await withWorkerLogs(worker, async () => {
        const workers = await worker.buildctl(['debug', 'workers', '--format', '{{json .}}']);
        expect(workers.stdout).toContain(`"io.github.buildkit-riscv64-acceptance.probe":"${PROBE}"`);
      });
    });

    if (kind !== 'remote-docker-container')
      step(
        'exports a riscv64 build to a registry, the local Docker store and an OCI tarball, each as built',
        async ({ annotate }) => {
          await withWorkerLogs(worker, async () => {
            const mark = `${PROBE}-export`;
            const want = `${mark} riscv64\n`;
            const registry = await pushRegistry(ctx);
            const ref = `${registry.forBuilders}/bka/buildx-export:${ctx.resources.runId}-${kind}`;
            await build('export', [
              '--build-arg',
              `MARK=${mark}`,
              '--output',
              `type=image,name=${ref},push=true,registry.insecure=true`,
            ]);
            const pushed = await pushedImage(ctx.target, ref, true);
            await annotate(
              `pushed ${ref} ${pushed.digest} (${pushed.platforms.join(', ')}); registry ${registry.how}`,
            );
            expect(pushed.platforms).toEqual(['linux/riscv64']);
            const loaded = `bka-buildx-load:${ctx.resources.runId}-${kind}`;
            ctx.resources.image(loaded);
            await build('export', ['--build-arg', `MARK=${mark}`, '--load', '--tag', loaded]);
            const arch = (
              await ctx.target.exec(['docker', 'image', 'inspect', '-f', '{{.Os}}/{{.Architecture}}', loaded])
            ).stdout.trim();
            expect(arch).toBe('linux/riscv64');
            const cid = (
              await ctx.target.exec(['docker', 'create', ...ctx.resources.labelFlags, loaded, 'none'])
            ).stdout.trim();
            ctx.resources.container(cid);
            const copied = await ctx.target.exec([
              'sh',
              '-c',
              'docker cp "$1:/mark.txt" - | tar -xOf -',
              'sh',
              cid,
            ]);
            expect(copied.stdout).toBe(want);
            const tar = `${dir}/export.oci.tar`;
            await build('export', ['--build-arg', `MARK=${mark}`, '--output', `type=oci,dest=${tar}`]);
            const oci = await ociImage(ctx.target, tar);
            expect(`${oci.config.os}/${oci.config.architecture}`).toBe('linux/riscv64');
            expect(await topLayerFile(ctx.target, tar, oci, 'mark.txt')).toBe(want);
          });
        },
      );

    step(
      'secrets given by env and by file reach RUN byte for byte, and appear in no layer, config or history',
      async () => {
        await withWorkerLogs(worker, async () => {
          const token = `bka-token-${randomBytes(12).toString('hex')}`;
          const file = `bka-file-${randomBytes(12).toString('hex')}`;
          registerSecret(token);
          registerSecret(file);
          await ctx.target.writeFile(`${dir}/secret.txt`, file, 0o600);
          const secrets = [
            '--secret',
            'id=token,env=BKA_SECRET_TOKEN',
            '--secret',
            `id=file,src=${dir}/secret.txt`,
          ];
          const env = { BKA_SECRET_TOKEN: token };
          await build('secret', [...secrets, '--target', 'sums', '--output', `type=local,dest=${dir}/sums`], {
            env,
          });
          const sums = (await read(`${dir}/sums/sums.txt`)).trim().split('\n');
          const sha = async (text: string) =>
            (await ctx.target.exec(['sha256sum'], { input: text })).stdout.split(' ')[0];
          expect(sums).toEqual([await sha(token), await sha(file)]);
          const tar = `${dir}/secret.oci.tar`;
          await build('secret', [...secrets, '--target', 'build', '--output', `type=oci,dest=${tar}`], {
            env,
          });
          for (const [name, secret] of [
            ['token', token],
            ['file', file],
          ] as const)
            expect(await tarballOccurrences(ctx.target, tar, secret), `where the ${name} secret is`).toEqual(
              [],
            );
        });
      },
    );

    if (ownDaemon)
      step('a required secret that is not given fails the build', async () => {
        // --no-cache: a cached RUN step never mounts its secrets, so only a step that runs can miss one.
        const r = await build(
          'secret',
          ['--no-cache', '--target', 'sums', '--output', `type=local,dest=${dir}/nosecret`],
          {
            reject: false,
          },
        );
        expect(
          r.exitCode,
          `the build succeeded without its required secrets:\n${formatEvidence(r)}`,
        ).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/secret/i);
      });

    if (ownDaemon)
      for (const store of ['a directory', 'the registry'] as const)
        step(
          `a cache exported to ${store} is imported after prune -af: the rebuilt random bytes are the same`,
          async ({ annotate }) => {
            // Each store is its own check, never one passing for both.
            await withWorkerLogs(worker, async () => {
              const registry = store === 'the registry' ? (await pushRegistry(ctx)).forBuilders : '';
              const ref = `${registry}/bka/buildx-cache:${ctx.resources.runId}-${kind}`;
              const [to, from, out] =
                store === 'a directory'
                  ? [`type=local,dest=${dir}/cache,mode=max`, `type=local,src=${dir}/cache`, 'rand-dir']
                  : [
                      `type=registry,ref=${ref},mode=max,registry.insecure=true`,
                      `type=registry,ref=${ref},registry.insecure=true`,
                      'rand-registry',
                    ];
              await build('cache', ['--cache-to', to, '--output', `type=local,dest=${dir}/${out}`]);
              const first = await read(`${dir}/${out}/rand.txt`);
              await worker.buildx(['prune', '-af']);
              await build('cache', ['--cache-from', from, '--output', `type=local,dest=${dir}/${out}-again`]);
              const again = await read(`${dir}/${out}-again/rand.txt`);
              await annotate(`${to.split(',')[0]}: ${first} -> ${again}`);
              expect(cacheHitProblem(first, again, from)).toBeUndefined();
            });
          },
        );

    if (kind === 'remote-mtls')
      for (const [who, client] of [
        ['without a client certificate', undefined],
        ['with a client certificate from another CA', 'other-client'],
      ] as const)
        step(
          `a remote builder ${who} is refused: no build runs on it, and the daemon answers with a TLS alert`,
          async ({ annotate }) => {
            const address = worker.address;
            const name = ctx.resources.name('builder');
            ctx.resources.builder(name);
            const create = await ctx.target.exec(
              [
                ...['docker', 'buildx', 'create', '--name', name, '--driver', 'remote'],
                ...['--driver-opt', remoteTlsOpts(certs, client), address, '--bootstrap'],
              ],
              { reject: false, timeoutMs: 180_000 },
            );
            const tryBuild = await ctx.target.exec(
              [
                ...['docker', 'buildx', 'build', '--builder', name, '--progress', 'plain'],
                ...['--output', `type=local,dest=${dir}/refused`, `${fixtures}/export`],
              ],
              { reject: false, timeoutMs: 300_000 },
            );
            const status = await ctx.target.exec(['docker', 'buildx', 'inspect', name], { reject: false });
            await ctx.target.exec(['docker', 'buildx', 'rm', '--force', name], { reject: false });
            expect(tryBuild.failed, `a build ran on a builder ${who}:\n${formatEvidence(tryBuild)}`).toBe(
              true,
            );
            expect(status.stdout, 'buildx inspect').not.toMatch(/Status:\s+running/);
            // Buildx 0.13 reports only a deadline; the same client material in buildctl names the TLS refusal.
            const probe = await ctx.target.exec(
              [
                ...['docker', 'run', '--rm', ...ctx.resources.labelFlags, '--network', 'host'],
                ...['-v', `${certs}:/certs:ro`, '--entrypoint', 'buildctl', image.id, '--timeout', '30'],
                ...['--addr', address, '--tlsservername', 'localhost', '--tlscacert', '/certs/ca.pem'],
                ...(client
                  ? ['--tlscert', `/certs/${client}.pem`, '--tlskey', `/certs/${client}-key.pem`]
                  : []),
                ...['debug', 'workers'],
              ],
              { reject: false, timeoutMs: 180_000 },
            );
            const last = (r: { stderr: string }) => r.stderr.trim().split('\n').pop();
            await annotate(
              `buildx create --bootstrap: exit ${create.exitCode} ${last(create)}; build: exit ${tryBuild.exitCode} ${last(tryBuild)}; buildctl: ${last(probe)}`,
            );
            expect(tlsRefusalProblem(probe, who)).toBeUndefined();
          },
        );

    if (ownDaemon)
      step(
        'parallel builds with different args (one bake of three targets) all succeed, each with its own output',
        async () => {
          await withWorkerLogs(worker, async () => {
            const marks = [1, 2, 3].map((i) => `${PROBE}-parallel-${i}`);
            // One client, three solves at once (as BuildKit's own parallel tests do): three buildx processes
            // would each dial the builder through the Docker socket, which a loaded engine may drop.
            const targets = marks.map((m, i) => [
              `par-${i}`,
              {
                context: `${fixtures}/export`,
                args: { MARK: m },
                output: [`type=local,dest=${dir}/par-${i}`],
              },
            ]);
            const bake = {
              group: { default: { targets: targets.map(([t]) => t) } },
              target: Object.fromEntries(targets),
            };
            await ctx.target.writeFile(`${dir}/parallel.bake.json`, JSON.stringify(bake));
            await worker.buildx(['bake', '--progress', 'plain', '-f', `${dir}/parallel.bake.json`], {
              timeoutMs: 15 * 60_000,
              context: `buildx bake of three export targets on worker=${kind}`,
            });
            for (const [i, m] of marks.entries())
              expect(await read(`${dir}/par-${i}/mark.txt`)).toBe(`${m} riscv64\n`);
          });
        },
      );

    if (ownDaemon)
      step(
        'du reports usage, prune --filter until=72h keeps fresh records, prune -af empties the cache',
        async ({ annotate }) => {
          await withWorkerLogs(worker, async () => {
            await build('export', [
              '--build-arg',
              `MARK=${PROBE}-du`,
              '--output',
              `type=local,dest=${dir}/du`,
            ]);
            const total = async () => {
              const out = (await worker.buildx(['du'])).stdout;
              return { out, total: /Total:\s+(\S+)/.exec(out)?.[1] ?? '?' };
            };
            const before = await total();
            expect(before.total, before.out).not.toMatch(/^0B?$/);
            await worker.buildx(['prune', '-f', '--filter', 'until=72h']);
            const kept = await total();
            expect(kept.total, `prune --filter until=72h removed fresh records:\n${kept.out}`).toBe(
              before.total,
            );
            await worker.buildx(['prune', '-af']);
            const after = await total();
            await annotate(
              `du total: ${before.total} -> (until=72h) ${kept.total} -> (prune -af) ${after.total}`,
            );
            expect(after.total, after.out).toMatch(/^0B?$/);
          });
        },
      );

    if (ownDaemon)
      step('buildx rm leaves no container or volume behind', async () => {
        await worker.stop();
        const left = await ctx.target.exec([
          'sh',
          '-c',
          'docker ps -aq --filter "name=$1"; docker volume ls -q --filter "name=$1"',
          'sh',
          `buildx_buildkit_${worker.builder}0`,
        ]);
        expect(left.stdout.trim(), `left behind by buildx rm ${worker.builder}`).toBe('');
      });
  });
}
