/**
 * Phase 2 (#208): the image under test, built once for the file. One file because its parts share the
 * image and must run in order: the distribution check at the end removes the image from the store.
 * Over 250 lines for that reason: it is the phase's whole list, in the order it must run.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DOCKERFILE, SBOM_GENERATOR } from '../../build/image.ts';
import {
  type ContainerExecOptions,
  execIn,
  runToCompletion,
} from '../../harness/docker/container-commands.ts';
import {
  cosignKeyPair,
  cosignSign,
  cosignSignKeyless,
  cosignVerify,
  cosignVerifyKeyless,
  WEEKLY_WORKFLOW,
} from '../../harness/docker/cosign.ts';
import { type DockerEndpoint, dockerFor } from '../../harness/docker/docker-endpoint.ts';
import {
  type PushedAttestations,
  pushedAttestations,
  servedDigests,
} from '../../harness/docker/registry-http.ts';
import { TrackedContainer } from '../../harness/docker/tracked-container.ts';
import { defaultImageRepository } from '../../harness/plan/project-repository.ts';
import { benchNote } from '../../harness/run/bench-note.ts';
import { usePhase } from '../../harness/run/phase-context.ts';
import { engineRef, type PushRegistry, pushRegistry } from '../../harness/run/run-registry.ts';
import { requireFeature } from '../../harness/sandbox/features.ts';
import { keylessSigning, STANDIN_PROJECT } from '../../harness/sandbox/keyless-signing.ts';
import { type PublishedImage, publishedImage, repositoryOf } from '../../harness/sandbox/published-image.ts';
import { startWorker, type WorkerOf, workerName } from '../../harness/sandbox/sandbox.ts';
import { certsOnTarget } from '../../harness/sandbox/target-certs.ts';
import { withWorkerLogs } from '../../harness/sandbox/worker.ts';
import {
  type ImageUnderTest,
  imageUnderTest,
  repositoryFor,
} from '../../harness/subjects/image-under-test.ts';
import {
  askedDockerfileVersion,
  baseImageDigests,
  installedDebianPackages,
} from '../../harness/subjects/supply-chain.ts';
import { RUN_LABEL } from '../../harness/target/resources.ts';
import { attestationProblems } from '../../helpers/attestations.ts';
import { BASE_IMAGE, buildkitdToml } from '../../helpers/buildkitd-toml.ts';
import { type CommandResult, formatEvidence } from '../../helpers/command-result.ts';
import { describeElf, parseElf, riscv64Problem } from '../../helpers/elf.ts';
import { isReleaseVersion, releaseFromTag, tagsFor } from '../../helpers/image-tags.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { provenanceFacts, provenanceProblems, SLSA_V1 } from '../../helpers/provenance.ts';
import { requestedDebianPackages, SPDX_PREDICATE, sbomPackages, sbomProblems } from '../../helpers/sbom.ts';
import { signatureVerdict } from '../../helpers/signature-verdict.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';
import { parseBuildkitVersion } from '../../helpers/versions.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
/**
 * Size budget, measured (2026-11, v0.33.1): 279 MB = debian:trixie-slim 96 MB + runtime packages
 * ~111 MB (git with the perl it needs is ~90 MB of installed size; runc, openssh-client, iptables and
 * libraries the rest; docs, man pages, locales and apt caches excluded) + buildkitd and buildctl 72 MB.
 * 330 MB leaves ~18% for Debian's point releases and still catches a build that drags in docs, apt
 * caches or a toolchain (the first draft, with docs and caches, was 423 MB).
 */
const SIZE_BUDGET_MB = 330;

const ctx = usePhase();
const CHILDREN = join(FIXTURES, 'container', 'children');
let image: ImageUnderTest;
let api: DockerEndpoint;
let fixtures: string;

beforeAll(async () => {
  api = await dockerFor(ctx.target);
  image = await imageUnderTest(ctx);
  fixtures = await ctx.resources.tempDir('fixtures');
  for (const f of ['Dockerfile', 'hello.txt'])
    await ctx.target.upload(join(FIXTURES, 'binaries', 'scratch', f), `${fixtures}/scratch/${f}`);
});

/** A container of the image under test, labelled and tracked from the moment it exists. */
const container = () => new TrackedContainer(image.ref, ctx.resources, api);

type Daemon = WorkerOf<'image-daemon'>;
/** The image under test as a daemon, from the sandbox: privileged, the run's buildkitd.toml mounted unless asked otherwise. */
const daemon = (options: Parameters<typeof startWorker>[2] = {}) =>
  startWorker(ctx, 'image-daemon', { image, ...options });

const exec = (id: string, argv: string[], options?: ContainerExecOptions) =>
  execIn(api, id, argv, { context: `in container ${id}`, ...options });
const sh = async (id: string, script: string) => (await exec(id, ['sh', '-c', script])).stdout;

/**
 * Waits once per daemon for buildkitd to answer (the worker's ready(): a daemon known dead fails every
 * later check at once with the same evidence). Once any daemon of the image under test never answered,
 * later ones get 30 s, not 180 s, and say so.
 */
let neverReady: string | undefined;
async function ready(worker: Daemon): Promise<void> {
  const before = neverReady;
  try {
    await worker.ready(before ? 30_000 : 180_000);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    neverReady ??= message.split('\n')[0];
    throw before ? new Error(`${message}\n(an earlier daemon of this image never answered: ${before})`) : err;
  }
}

describe('the image', { tags: [SERVES['#208']] }, () => {
  /** One container of the image with its entrypoint bypassed, for the checks that look inside it. */
  let inspector: StartedTestContainer;
  beforeAll(async () => {
    inspector = await container().withEntrypoint(['sleep', 'infinity']).start();
  });
  afterAll(async () => {
    await inspector?.stop();
  });

  test('is linux/riscv64, labelled with the version and revision of the binaries, and within its size budget', async ({
    annotate,
  }) => {
    const info = await api.docker.getImage(image.ref).inspect();
    const platform = `${info.Os}/${info.Architecture}`;
    const labels = info.Config.Labels ?? {};
    const mb = info.Size / 1e6;
    await annotate(
      `${image.ref}: ${platform}, ${mb.toFixed(0)} MB (budget ${SIZE_BUDGET_MB} MB); source: ${image.source}${image.buildMs ? `; built in ${(image.buildMs / 1000).toFixed(0)}s` : ''}`,
    );
    expect(platform).toBe('linux/riscv64');
    await annotate(`expected from ${image.expectedFrom}`);
    if (image.buildMs) await benchNote(annotate, 'image build', image.buildMs);
    if (image.expectedVersion)
      expect(labels['org.opencontainers.image.version'], image.expectedFrom).toBe(image.expectedVersion);
    if (image.expectedRevision)
      expect(labels['org.opencontainers.image.revision'], image.expectedFrom).toBe(image.expectedRevision);
    for (const k of ['version', 'revision', 'created', 'title'])
      expect(labels[`org.opencontainers.image.${k}`], k).toBeTruthy();
    expect(mb).toBeLessThan(SIZE_BUDGET_MB);
  });

  test('carries the tags the convention gives for what was asked for', async ({ annotate }) => {
    const info = await api.docker.getImage(image.id).inspect();
    const version = info.Config.Labels?.['org.opencontainers.image.version'] ?? '';
    await annotate(`tags: ${(info.RepoTags ?? []).join(', ')}; version label ${version}`);
    if (ctx.config.image) {
      // A published tag: a release tag names its version; latest and master-DATE are never a release.
      const release = releaseFromTag(ctx.config.image);
      if (release) expect(version, `${ctx.config.image} is a release tag`).toBe(release);
      else {
        expect(ctx.config.image, 'a tag is vX.Y.Z-riscv64, latest or master-YYYYMMDD').toMatch(
          /:(latest|master-\d{8})$/,
        );
        expect(
          isReleaseVersion(version),
          `${ctx.config.image} is a development tag, its image ${version}`,
        ).toBe(false);
      }
      return;
    }
    const expected = tagsFor(image.expectedVersion!, repositoryFor(ctx.config), image.builtAt);
    expect([...(info.RepoTags ?? [])].sort()).toEqual(expect.arrayContaining(expected));
    expect(image.tags.sort()).toEqual([...expected].sort());
  });

  test('declares port 1234, the volume /var/lib/buildkit, a health check, and its source repository', async ({
    annotate,
  }) => {
    const { Config } = await api.docker.getImage(image.id).inspect();
    const source = Config.Labels?.['org.opencontainers.image.source'] ?? '';
    const health = (Config as { Healthcheck?: { Test?: string[] } }).Healthcheck;
    await annotate(`health check: ${JSON.stringify(health?.Test)}; source: '${source}'`);
    expect(Object.keys(Config.ExposedPorts ?? {})).toContain('1234/tcp');
    expect(Object.keys(Config.Volumes ?? {})).toContain('/var/lib/buildkit');
    expect(health?.Test?.[0], 'no HEALTHCHECK').toMatch(/^CMD/);
    expect(source).not.toMatch(/OWNER/);
    if (ctx.config.projectRepository && !ctx.config.image)
      expect(source).toBe(ctx.config.projectRepository.url);
  });

  test('buildkitd --version and buildctl --version in it name the version and revision of its labels', async ({
    annotate,
  }) => {
    const labels = (await api.docker.getImage(image.id).inspect()).Config.Labels ?? {};
    for (const name of ['buildkitd', 'buildctl']) {
      const line = (await exec(inspector.getId(), [name, '--version'])).stdout.trim();
      await annotate(`${name} --version: ${line}`);
      const parsed = parseBuildkitVersion(line);
      expect(
        parsed,
        `'${line}' is not '<binary> github.com/moby/buildkit <version> <revision>'`,
      ).toBeDefined();
      expect(parsed!.binary, `the first field of '${line}'`).toBe(name);
      expect(parsed!.version).toBe(labels['org.opencontainers.image.version']);
      expect(parsed!.revision).toBe(labels['org.opencontainers.image.revision']);
    }
  });

  test('buildkitd and buildctl in it are static riscv64 ELF binaries on PATH', async () => {
    const out = await sh(
      inspector.getId(),
      'for b in buildkitd buildctl; do p=$(command -v $b) || { echo "$b missing"; exit 1; }; echo "$b $(head -c 4096 $p | base64 -w0)"; done',
    );
    for (const line of out.trim().split('\n')) {
      const [name, b64 = ''] = line.split(' ');
      const elf = parseElf(Buffer.from(b64, 'base64'));
      expect(riscv64Problem(elf), `${name} in the image does not run on linux/riscv64`).toBeUndefined();
      expect(elf.isStatic, `${name} in the image is ${describeElf(elf)}`).toBe(true);
    }
  });

  test('/sbin/docker-init points to /usr/bin/tini, and tini --version works through both paths', async () => {
    const out = await sh(
      inspector.getId(),
      'readlink /sbin/docker-init; /sbin/docker-init --version; /usr/bin/tini --version',
    );
    const [link, viaInit, viaTini] = out.trim().split('\n');
    expect(link).toBe('/usr/bin/tini');
    expect(viaInit).toMatch(/^tini version \d/);
    expect(viaTini).toMatch(/^tini version \d/);
  });

  test('every runtime dependency is present and runs', async ({ annotate }) => {
    const checks: Record<string, string> = {
      'fuse-overlayfs': 'fuse-overlayfs --version',
      iptables: 'iptables --version',
      ip6tables: 'ip6tables --version',
      git: 'git --version',
      ssh: 'ssh -V',
      pigz: 'pigz --version',
      xz: 'xz --version',
      runc: 'runc --version',
      'ca-certificates': 'test -s /etc/ssl/certs/ca-certificates.crt && echo present',
    };
    const script = Object.entries(checks)
      .map(([n, c]) => `out=$(${c} 2>&1); rc=$?; echo "${n}|$rc|$(printf '%s' "$out" | head -n1)"`)
      .join('; ');
    const rows = (await sh(inspector.getId(), script))
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    await annotate(rows.map(([n, , out]) => `${n}: ${out}`).join('; '));
    const broken = rows.filter(([, rc, out]) => rc !== '0' || !out);
    expect(broken.map(([n, rc, out]) => `${n}: exit ${rc}: ${out || 'no output'}`)).toEqual([]);
    expect(rows.map(([n]) => n)).toEqual(Object.keys(checks));
  });
});

describe('run privileged as a daemon', { tags: [SERVES['#208']] }, () => {
  let plain: Daemon;
  let withInit: Daemon;

  beforeAll(async () => {
    // withInit runs as Buildx runs it and as published: the image's own configuration, nothing mounted.
    [plain, withInit] = await Promise.all([daemon(), daemon({ init: true, asPublished: true })]);
  });
  // Stop the daemons as soon as their checks are done (the tracker removes them again, idempotently).
  afterAll(async () => {
    await Promise.all([plain?.stop(), withInit?.stop()]);
  });

  test('buildkitd is up within three minutes, and its log shows no startup error', async () => {
    await withWorkerLogs(plain, async () => {
      await ready(plain);
      expect(await plain.logs()).not.toMatch(
        /docker-init: no such file|exec format error|level=fatal|refusing/i,
      );
    });
  });

  test('PID 1 is tini without --init, and docker-init with it', async () => {
    await withWorkerLogs(withInit, async () => {
      expect((await sh(plain.container, 'cat /proc/1/comm')).trim()).toBe('tini');
      await ready(withInit);
      expect((await sh(withInit.container, 'cat /proc/1/comm')).trim()).toBe('docker-init');
      expect(await sh(withInit.container, 'cat /proc/[0-9]*/comm')).toContain('buildkitd');
    });
  });

  test('the default command listens on the unix socket only, with no TCP listener', async () => {
    // The image as published: its own entrypoint, command and any configuration baked into it.
    const id = withInit.container;
    await withWorkerLogs(withInit, async () => {
      await ready(withInit);
      const listening = await sh(
        id,
        'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk \'$4 == "0A" {print $2}\'',
      );
      expect(listening.trim(), 'sockets in LISTEN state (hex addr:port)').toBe('');
      expect(await sh(id, 'test -S /run/buildkit/buildkitd.sock && echo socket')).toBe('socket\n');
    });
  });

  test('its HEALTHCHECK reports the running daemon healthy', async ({ annotate }) => {
    const id = plain.container;
    await withWorkerLogs(plain, async () => {
      await ready(plain);
      const t0 = performance.now();
      const healthOf = async () => (await api.docker.getContainer(id).inspect()).State.Health;
      const health = await pollUntil(
        async () => {
          const h = await healthOf();
          return h?.Status === 'healthy' ? h : undefined;
        },
        {
          timeoutMs: 150_000,
          intervalMs: 2000,
          what: 'the container to be healthy',
          giveUp: async () => {
            const h = await healthOf();
            if (!h) return 'the container has no health check';
            return h.Status === 'unhealthy'
              ? `its health check says unhealthy: ${JSON.stringify(h.Log?.slice(-2))}`
              : undefined;
          },
        },
      );
      await annotate(
        `healthy after ${((performance.now() - t0) / 1000).toFixed(0)}s: ${health.Log?.at(-1)?.Output?.trim().split('\n')[0] ?? ''}`,
      );
    });
  });

  test('PID 1 reaps orphaned processes: none is left a zombie', async ({ annotate }) => {
    const id = plain.container;
    await withWorkerLogs(plain, async () => {
      // The subshell exits at once: its sleep is orphaned, reparented to PID 1, and must be reaped by it.
      const pid = (await sh(id, '(sleep 1 >/dev/null 2>&1 & echo $!)')).trim();
      await new Promise((r) => setTimeout(r, 3000));
      const state = (await sh(id, `awk '{print $3, $4}' /proc/${pid}/stat 2>/dev/null; cat /proc/1/comm`))
        .trim()
        .split('\n');
      const pid1 = state.pop();
      await annotate(
        `orphan sleep (pid ${pid}) after 3s: ${state[0] ? `state ${state[0]}` : `reaped by PID 1 (${pid1})`}`,
      );
      expect(
        state[0],
        `pid ${pid} (sleep, orphaned to PID 1 = ${pid1}) is a zombie nobody reaps`,
      ).toBeUndefined();
    });
  });

  test('builds that spawn children leave no zombie processes in the container', async () => {
    await withWorkerLogs(plain, async () => {
      const children = await ctx.resources.tempDir('children');
      for (const f of readdirSync(CHILDREN)) await ctx.target.upload(join(CHILDREN, f), `${children}/${f}`);
      await ctx.target.exec(['docker', 'cp', `${children}/.`, `${plain.container}:/tmp/children`]);
      await exec(plain.container, [
        'buildctl',
        'build',
        '--frontend',
        'dockerfile.v0',
        '--local',
        'context=/tmp/children',
        '--local',
        'dockerfile=/tmp/children',
      ]);
      await new Promise((r) => setTimeout(r, 2000));
      const zombies = await sh(
        plain.container,
        'for s in /proc/[0-9]*/stat; do awk \'$3 == "Z" {print $1, $2}\' $s 2>/dev/null; done; true',
      );
      expect(zombies.trim(), 'processes in state Z (pid, comm)').toBe('');
    });
  });

  test('docker stop makes buildkitd exit cleanly before the 10-second kill (tini forwards SIGTERM)', async ({
    annotate,
  }) => {
    const id = plain.container;
    await withWorkerLogs(plain, async () => {
      const t0 = performance.now();
      // Docker's own 10-second deadline, then SIGKILL; the worker's stop() removes the container later.
      await ctx.target.exec(['docker', 'stop', '--time', '10', id], { timeoutMs: 120_000 });
      const stopMs = performance.now() - t0;
      const { State } = await api.docker.getContainer(id).inspect();
      await annotate(
        `docker stop took ${(stopMs / 1000).toFixed(1)}s; exit code ${State.ExitCode}, OOM-killed ${State.OOMKilled}`,
      );
      // Docker's own deadline is the clock here: a buildkitd that outlives it is SIGKILLed (137).
      expect(State.ExitCode, 'exit code 137 means it had to be killed').not.toBe(137);
      // buildkitd's graceful path: it logs "stopping server" on the first SIGTERM (and then exits 1,
      // as upstream does when its context is cancelled by a signal).
      expect(await plain.logs(), 'buildkitd did not take the graceful shutdown path').toMatch(
        /stopping server/,
      );
    });
  });
});

describe('configuration and TCP', { tags: [SERVES['#208']] }, () => {
  test('a buildkitd.toml mounted at /etc/buildkit/buildkitd.toml takes effect', async () => {
    const probe = `bka-${ctx.resources.runId}`;
    await using started = await daemon({
      toml: `${buildkitdToml(ctx.config.registryMirror)}\n[worker.oci]\n  labels = { "io.github.buildkit-riscv64-acceptance.probe" = "${probe}" }\n`,
    });
    await withWorkerLogs(started, async () => {
      await ready(started);
      const workers = await exec(started.container, [
        'buildctl',
        'debug',
        'workers',
        '--format',
        '{{json .}}',
      ]);
      expect(workers.stdout).toContain(`"io.github.buildkit-riscv64-acceptance.probe":"${probe}"`);
    });
  });

  test('refuses to listen on TCP without mTLS', async () => {
    const r = await runToCompletion(api, ctx.resources, {
      image: image.ref,
      command: ['--addr', 'tcp://0.0.0.0:1234'],
      timeoutMs: 120_000,
      reject: false,
    });
    expect(r.exitCode, `expected the entrypoint's usage exit (64):\n${formatEvidence(r)}`).toBe(64);
    expect(r.stderr).toMatch(/refusing to listen on TCP without mTLS/);
  });

  test('over TCP with mTLS, a client with the certificate builds, one without or from another CA is refused', async ({
    annotate,
  }) => {
    const dir = await certsOnTarget(ctx.target, ctx.resources);
    // The worker publishes port 1234 on the target's loopback (and fails to start when it is not published).
    await using started = await daemon({ certsDir: dir });
    await withWorkerLogs(started, async () => {
      await ready(started);
      const addr = `tcp://127.0.0.1:${started.port}`;
      // buildctl as a client on the target's network, outside the daemon's container.
      const buildctl = (...args: string[]) =>
        runToCompletion(api, ctx.resources, {
          image: image.ref,
          networkMode: 'host',
          binds: [`${dir}:/certs:ro`, `${fixtures}:/fixtures:ro`],
          command: ['buildctl', '--addr', addr, ...args],
          reject: false,
        });
      const ok = await buildctl(
        '--tlscacert',
        '/certs/ca.pem',
        '--tlscert',
        '/certs/client.pem',
        '--tlskey',
        '/certs/client-key.pem',
        'build',
        '--frontend',
        'dockerfile.v0',
        '--local',
        'context=/fixtures/scratch',
        '--local',
        'dockerfile=/fixtures/scratch',
      );
      await annotate(`mTLS build over ${addr}: exit ${ok.exitCode} in ${(ok.durationMs / 1000).toFixed(1)}s`);
      expect(ok.exitCode, formatEvidence(ok)).toBe(0);
      const noCert = await buildctl('--tlscacert', '/certs/ca.pem', 'debug', 'workers');
      expect(noCert.failed, `a client without a certificate was served:\n${formatEvidence(noCert)}`).toBe(
        true,
      );
      const otherCa = await buildctl(
        '--tlscacert',
        '/certs/ca.pem',
        '--tlscert',
        '/certs/other-client.pem',
        '--tlskey',
        '/certs/other-client-key.pem',
        'debug',
        'workers',
      );
      expect(
        otherCa.failed,
        `a client with a certificate from another CA was served:\n${formatEvidence(otherCa)}`,
      ).toBe(true);
    });
  });
});

describe('as a Buildx docker-container builder', { tags: [SERVES['#208']] }, () => {
  describe(workerName('buildx-docker-container'), () => {
    test('buildx bootstraps a builder with --driver-opt image=... and builds with it', async ({
      annotate,
    }) => {
      await using worker = await startWorker(ctx, 'buildx-docker-container', {
        image,
        buildkitdFlags: '--allow-insecure-entitlement=network.host',
      });
      const [builderContainer] = await api.docker.listContainers({
        all: true,
        filters: { name: [worker.container] },
      });
      const containerId = builderContainer?.Id;
      await withWorkerLogs(worker, async () => {
        const inspect = await worker.buildx(['inspect']);
        await annotate(
          `buildx inspect: ${inspect.stdout
            .split('\n')
            .filter((l) => /Status|BuildKit|Driver/.test(l))
            .join('; ')}`,
        );
        expect(inspect.stdout).toMatch(/Status:\s+running/);
        const build = await worker.buildx(
          ['build', '--progress', 'plain', '--output', 'type=cacheonly', `${fixtures}/scratch`],
          { reject: false, timeoutMs: 10 * 60_000 },
        );
        expect(build.exitCode, build.stderr.slice(-2000)).toBe(0);
        expect(containerId, `no container ${worker.container} on the target`).toBeDefined();
        const { HostConfig, Image } = await api.docker.getContainer(containerId!).inspect();
        await annotate(`builder container runs with --init: ${HostConfig.Init ?? false}`);
        expect(Image, `the builder container runs ${Image}, not the image under test ${image.id}`).toBe(
          image.id,
        );
      });
    });
  });
});

/** The docker CLI on the target: pushing and pulling are checked the way users do them. */
const docker = (args: string[], context?: string, timeoutMs = 10 * 60_000) =>
  ctx.target.exec(['docker', ...args], { context, timeoutMs });

describe('distribution', { tags: [SERVES['#208']] }, () => {
  test('every tag pulls back with no credentials (an empty Docker config) into an empty store, with the pushed digest', async ({
    annotate,
  }) => {
    // A built image is pushed where its tags name (the lab's registry, or a repository the user named);
    // otherwise, as on a board by default, under the run's own registry (copies of its tags, put back after).
    const explicitRepository =
      ctx.config.imageRepository !== defaultImageRepository(ctx.config.projectRepository);
    const repoOf = (tag: string) => tag.replace(/:[^:/]+$/, '');
    let tags = image.tags;
    if (!ctx.config.image && !ctx.config.registryMirror && !explicitRepository) {
      const registry = await pushRegistry(ctx);
      tags = image.tags.map(
        (t) => `${registry.forEngine}/bka/buildkit-riscv64:${t.slice(repoOf(t).length + 1)}`,
      );
      for (const [i, tag] of tags.entries()) {
        ctx.resources.image(tag);
        await docker(['tag', image.tags[i]!, tag]);
      }
      await annotate(`pushed to the run's own registry (${registry.how})`);
    }
    const digests: string[] = [];
    for (const tag of tags) {
      if (ctx.config.image) {
        // Published already: the digest the registry served when the phase pulled it.
        const repoDigests = (await docker(['image', 'inspect', '-f', '{{join .RepoDigests " "}}', tag]))
          .stdout;
        const pushed = repoDigests
          .split(' ')
          .find((d) => d.startsWith(`${repoOf(tag)}@`))
          ?.split('@')[1];
        expect(
          pushed,
          `${tag} has no digest from its registry (RepoDigests: ${repoDigests.trim()})`,
        ).toBeDefined();
        digests.push(pushed!);
        continue;
      }
      const push = await docker(['push', tag], `pushing ${tag}`, 20 * 60_000);
      await benchNote(annotate, 'image push', push.durationMs);
      const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
      expect(pushed, `no digest in the push output:\n${push.stdout}`).toBeDefined();
      digests.push(pushed!);
    }
    // An empty local store: no container of this run holds the image, and the image itself is gone.
    // Only this run's containers of this image: another phase of the run may be running beside this one.
    const imageId = (await docker(['image', 'inspect', '-f', '{{.Id}}', image.ref])).stdout.trim();
    const holders = (
      await docker([
        ...['ps', '-aq', '--filter', `label=${RUN_LABEL}=${ctx.resources.runId}`],
        ...['--filter', `ancestor=${imageId}`],
      ])
    ).stdout
      .split('\n')
      .filter(Boolean);
    if (holders.length > 0) await docker(['rm', '-f', '-v', ...holders]);
    // By id, forced: every tag of it goes, whichever test added one.
    await docker(['image', 'rm', '-f', imageId]);
    const gone = await ctx.target.exec(['docker', 'image', 'inspect', imageId], { reject: false });
    expect(gone.failed, `image ${imageId} is still in the local store`).toBe(true);
    // No credentials at all: a Docker config directory that is empty.
    const emptyConfig = await ctx.resources.tempDir('docker-config');
    for (const [i, tag] of tags.entries()) {
      const pull = await ctx.target.exec(['env', `DOCKER_CONFIG=${emptyConfig}`, 'docker', 'pull', tag], {
        context: `pulling ${tag} with an empty Docker config`,
        timeoutMs: 20 * 60_000,
      });
      await benchNote(annotate, 'image pull', pull.durationMs);
      const repoDigests = (await docker(['image', 'inspect', '-f', '{{join .RepoDigests " "}}', tag])).stdout;
      expect(repoDigests).toContain(`${repoOf(tag)}@${digests[i]}`);
      await annotate(`${tag} -> ${digests[i]} (pulled with an empty DOCKER_CONFIG)`);
      // The image under test under its own names again, for what runs after.
      if (tag !== image.tags[i]) await docker(['tag', tag, image.tags[i]!]);
    }
  });
});

/**
 * The image as users get it from a registry (harness/sandbox/published-image.ts), with provenance
 * (mode=max) and an SBOM attached by the BuildKit under test, and signed by digest.
 */
describe('supply chain: provenance, SBOM and signature', { tags: [SERVES['#208']] }, () => {
  let published: PublishedImage;
  let registry: PushRegistry;
  let attached: PushedAttestations;
  const statement = (type: string) =>
    attached.images
      .find((i) => i.platform === 'linux/riscv64')
      ?.statements.find((s) => s.predicateType === type);

  const caseRepo = () => `${registry.forBuilders}/bka/supply-chain`;
  // Small images of their own in the run's registry (the scratch fixture, a label per case: each its
  // own config, so its own digest), pushed under the engine's name for it.
  const pushCase = async (tag: string, label: string) => {
    const local = `${registry.forEngine}/bka/supply-chain:${tag}`;
    ctx.resources.image(local);
    await docker([
      ...['build', '-q', ...ctx.resources.labelFlags, '--label', `bka.case=${label}`],
      ...['-t', local, `${fixtures}/scratch`],
    ]);
    const push = await docker(['push', local], `pushing ${local}`);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    if (!digest) throw new Error(`pushing ${local}: no digest in its output:\n${push.stdout}`);
    return digest;
  };

  beforeAll(async () => {
    registry = await pushRegistry(ctx);
    published = await publishedImage(ctx, image, registry);
    attached = await pushedAttestations(
      ctx.target,
      `${repositoryOf(published.ref)}@${published.digest}`,
      published.http,
    );
  }, 45 * 60_000);

  test('the pushed image carries a provenance and an SBOM attestation for linux/riscv64, read back through the registry API', async ({
    annotate,
  }) => {
    await annotate(
      `${published.ref}@${published.digest}: ${attached.images.map((i) => `${i.platform} ${i.statements.map((s) => s.predicateType).join(', ') || 'no attestations'}`).join('; ')}`,
    );
    // The attested build on the image's own BuildKit: its apt step cached, the SBOM scan not.
    if (published.ms) await benchNote(annotate, 'attested publish', published.ms);
    expect(attestationProblems(attached.images, 'linux/riscv64', [SLSA_V1, SPDX_PREDICATE])).toEqual([]);
  });

  test("its provenance names the BuildKit asked for, the Dockerfile frontend and the Dockerfile sent, debian:trixie-slim by digest, phase 1's tarball by its SHA256SUMS entry, and linux/riscv64", async ({
    annotate,
    skip,
  }) => {
    const s = statement(SLSA_V1);
    expect(s, 'no SLSA v1 provenance for linux/riscv64').toBeDefined();
    const facts = provenanceFacts(s!.statement);
    const version = image.expectedVersion ?? '';
    const dockerfile = published.context?.dockerfile ?? readFileSync(DOCKERFILE, 'utf8');
    const want = {
      frontend: 'dockerfile.v0',
      platform: 'linux/riscv64',
      dockerfileSha256: createHash('sha256').update(dockerfile).digest('hex'),
      dockerfileVersion: await askedDockerfileVersion(ctx.config.buildkitRef, version),
      base: {
        name: 'debian',
        tag: 'trixie-slim',
        digests: await baseImageDigests(ctx, BASE_IMAGE, 'linux/riscv64'),
      },
      generator: { name: SBOM_GENERATOR.split(':')[0]!, tag: SBOM_GENERATOR.split(':')[1]! },
      binaries: published.binaries,
    };
    await annotate(
      `provenance: frontend ${facts.frontend} ${facts.dockerfileVersion} on ${facts.builderPlatform}; materials ${facts.materials.map((m) => `${m.uri}@${m.sha256?.slice(0, 12)}`).join(', ')}; expected from ${image.expectedFrom} (BuildKit ${version}: Dockerfile frontend ${want.dockerfileVersion})`,
    );
    expect(provenanceProblems(facts, want)).toEqual([]);
    // Everything else is proven; which tarball it was built from is not, without phase 1's output.
    if (!published.binaries)
      skip(
        `${published.ref}: phase 1's tarball among the materials is unchecked: give the phase 1 output it was built from (--binaries DIR, whose SHA256SUMS names the tarball)`,
      );
  });

  test('its SBOM lists every Debian package dpkg lists in the image with its version, and buildkitd and buildctl as github.com/moby/buildkit at the asked version', async ({
    annotate,
  }) => {
    const s = statement(SPDX_PREDICATE);
    expect(s, 'no SPDX SBOM for linux/riscv64').toBeDefined();
    const pkgs = sbomPackages((s!.statement.predicate as Record<string, unknown>) ?? {});
    const engineRefOf = `${engineRef(registry, repositoryOf(published.ref))}@${published.digest}`;
    const pulled = published.http ? engineRefOf : `${repositoryOf(published.ref)}@${published.digest}`;
    ctx.resources.image(pulled);
    const installed = await installedDebianPackages(ctx, pulled);
    const dockerfile = published.context?.dockerfile ?? readFileSync(DOCKERFILE, 'utf8');
    const want = {
      installed,
      requested: requestedDebianPackages(dockerfile),
      goModule: {
        path: 'github.com/moby/buildkit',
        version: image.expectedVersion ?? '',
        binaries: ['/usr/local/bin/buildkitd', '/usr/local/bin/buildctl'],
      },
    };
    await annotate(
      `SBOM: ${pkgs.length} packages (${pkgs.filter((p) => p.purl?.startsWith('pkg:deb/')).length} Debian); dpkg lists ${installed.length}; asked for ${want.requested.join(' ')}`,
    );
    expect(sbomProblems(pkgs, want)).toEqual([]);
  });

  test('cosign verify passes for the signed digest with an empty Docker config, and names each failure: a re-pointed tag, another key, no signature', async ({
    annotate,
    skip,
  }) => {
    requireFeature(skip, ctx.facts, 'cosign');
    const dir = await ctx.resources.tempDir('cosign');
    const emptyConfig = await ctx.resources.tempDir('docker-config');
    await ctx.target.exec(['mkdir', '-p', `${dir}/a`, `${dir}/b`]);
    const ours = await cosignKeyPair(ctx.target, `${dir}/a`);
    const other = await cosignKeyPair(ctx.target, `${dir}/b`);
    const repo = caseRepo();
    const keyed = (ref: string) =>
      cosignVerify(ctx.target, ref, { pub: ours.pub, http: true, dockerConfig: emptyConfig });
    // The published image: keyless from the weekly workflow (--image), else signed by digest with the run's key.
    let first: { what: string; result: CommandResult };
    if (ctx.config.image) {
      const url = ctx.config.projectRepository?.url;
      if (!url)
        throw new Error(
          '--image: no project repository (GITHUB_REPOSITORY or the git remote) names the workflow that signs it',
        );
      const ref = `${repositoryOf(published.ref)}@${published.digest}`;
      first = {
        what: `${ref}, keyless from ${url}`,
        result: await cosignVerifyKeyless(ctx.target, ref, { repositoryUrl: url, dockerConfig: emptyConfig }),
      };
    } else {
      const ref = `${repo}@${published.digest}`;
      await cosignSign(ctx.target, ours, ref, true);
      first = { what: `${ref} (the pushed digest)`, result: await keyed(ref) };
    }
    // A tag signed through its digest, then re-pointed to another image signed with another key.
    const tag = `repointed-${ctx.resources.runId}`;
    const signedDigest = await pushCase(tag, 'signed-then-repointed');
    await cosignSign(ctx.target, ours, `${repo}@${signedDigest}`, true);
    const otherDigest = await pushCase(tag, 'other-key');
    await cosignSign(ctx.target, other, `${repo}@${otherDigest}`, true);
    const unsignedDigest = await pushCase('unsigned', 'unsigned');
    // What the tag names now, as the registry serves it.
    const [resolved] = await servedDigests(ctx.target, `${repo}:${tag}`, true, 'linux/riscv64');
    const cases = [
      {
        what: first.what,
        want: 'verified',
        result: first.result,
        digests: { signed: published.digest, resolved: published.digest },
      },
      {
        what: `${repo}:${tag}, re-pointed`,
        want: 're-pointed tag',
        result: await keyed(`${repo}:${tag}`),
        digests: { signed: signedDigest, resolved },
      },
      {
        what: `${repo}@${otherDigest}, signed with another key`,
        want: 'another key',
        result: await keyed(`${repo}@${otherDigest}`),
        digests: { signed: otherDigest, resolved: otherDigest },
      },
      {
        what: 'an image pushed without a signature',
        want: 'unsigned',
        result: await keyed(`${repo}@${unsignedDigest}`),
        digests: { signed: unsignedDigest, resolved: unsignedDigest },
      },
    ];
    const verdicts = cases.map((c) => signatureVerdict(c.result, c.digests));
    const seen = cases.map(
      (c, i) =>
        `${c.what}: ${verdicts[i]!.why}${verdicts[i]!.verified ? '' : ` (${verdicts[i]!.detail.slice(0, 300)})`}`,
    );
    await annotate(`cosign verify, an empty DOCKER_CONFIG: ${seen.join('; ')}`);
    expect(
      verdicts.map((v) => v.why),
      `${seen.join('\n')}\n${formatEvidence(cases[0]!.result)}`,
    ).toEqual(cases.map((c) => c.want));
  });

  test("a keyless signature made as the weekly workflow makes it (GitHub Actions' OIDC, Fulcio, a CT log and Rekor: the Sigstore stand-in) verifies for that workflow with its log entry, and names each failure: another workflow, an untrusted authority, no log entry", async ({
    annotate,
    skip,
  }) => {
    requireFeature(skip, ctx.facts, 'cosign');
    const signing = await keylessSigning(ctx, 'keyless');
    const emptyConfig = await ctx.resources.tempDir('docker-config');
    const project = ctx.config.projectRepository ?? STANDIN_PROJECT;
    const asWorkflow = (workflowPath: string) => ({
      repository: `${project.owner}/${project.name}`,
      workflowPath,
      ref: 'refs/heads/main',
      sha: '0'.repeat(40),
      eventName: 'schedule',
    });
    const sign = async (digest: string, o: { workflow?: string; untrusted?: boolean; tlog?: boolean } = {}) =>
      cosignSignKeyless(ctx.target, `${caseRepo()}@${digest}`, {
        sigstore: o.untrusted ? signing.untrusted : signing.sigstore,
        identityTokenFile: await signing.tokenFile(asWorkflow(o.workflow ?? WEEKLY_WORKFLOW)),
        http: true,
        tlog: o.tlog,
      });
    // The run's own published image (an --image lives elsewhere: a small image of its own stands in).
    const first = ctx.config.image ? await pushCase('keyless-signed', 'keyless-signed') : published.digest;
    await sign(first);
    const otherWorkflow = await pushCase('keyless-other-workflow', 'keyless-other-workflow');
    await sign(otherWorkflow, { workflow: '.github/workflows/release-tracker.yml' });
    const untrusted = await pushCase('keyless-untrusted', 'keyless-untrusted');
    await sign(untrusted, { untrusted: true });
    const unlogged = await pushCase('keyless-unlogged', 'keyless-unlogged');
    await sign(unlogged, { tlog: false });
    const cases = [
      { what: `${first} (signed by the weekly workflow)`, want: 'verified', digest: first },
      {
        what: `${otherWorkflow} (signed by the release tracker)`,
        want: 'another identity',
        digest: otherWorkflow,
      },
      {
        what: `${untrusted} (a certificate from another root)`,
        want: 'untrusted certificate',
        digest: untrusted,
      },
      { what: `${unlogged} (signed with --tlog-upload=false)`, want: 'no log entry', digest: unlogged },
    ];
    const results: CommandResult[] = [];
    for (const c of cases)
      results.push(
        await cosignVerifyKeyless(ctx.target, `${caseRepo()}@${c.digest}`, {
          repositoryUrl: project.url,
          dockerConfig: emptyConfig,
          sigstore: signing.sigstore,
          http: true,
        }),
      );
    const verdicts = cases.map((c, i) =>
      signatureVerdict(results[i]!, { signed: c.digest, resolved: c.digest }),
    );
    const seen = cases.map(
      (c, i) =>
        `${c.what}: ${verdicts[i]!.why}${verdicts[i]!.verified ? '' : ` (${verdicts[i]!.detail.slice(0, 300)})`}`,
    );
    await annotate(`cosign verify (keyless, ${project.url}'s ${WEEKLY_WORKFLOW}): ${seen.join('; ')}`);
    expect(
      verdicts.map((v) => v.why),
      `${seen.join('\n')}\n${formatEvidence(results[0]!)}\nthe stand-in refused: ${signing.refusals.join('\n') || 'nothing'}`,
    ).toEqual(cases.map((c) => c.want));
  });
});
