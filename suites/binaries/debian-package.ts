/**
 * Phase 1's Debian package on the target (#210: packages), as the runner's user with its sudo (apt-get,
 * dpkg, systemctl): installed with `sudo apt-get install ./buildkit_*.deb` (its dependencies from the
 * target's own APT sources; no recommends, and never a removal: `--no-remove`), socket activation, a
 * build through the packaged daemon, an edited conffile across an upgrade, remove, purge. The upgrade,
 * remove and purge go through dpkg itself (`sudo dpkg -i`, `--remove`, `--purge`): they need no
 * dependency resolution, dpkg runs the same maintainer scripts apt-get would have it run, and each apt-get
 * call costs ~15 s more of reading the archive's index on a riscv64 board. Whatever the install added is
 * purged at cleanup, registered before it runs. Root-only files (the conffile, the
 * daemon's socket) are reached the way a docker-group user can: a run-owned container of the small base.
 * Registered by binaries.test.ts (a phase beside others is one test file).
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { CONFFILE } from '../../build/deb.ts';
import { ociImage, topLayerFile } from '../../harness/docker/oci-tarball.ts';
import { SMALL_BASE } from '../../harness/docker/small-base.ts';
import type { PhaseContext } from '../../harness/run/phase-context.ts';
import { missingFeature } from '../../harness/sandbox/features.ts';
import type { BinariesUnderTest } from '../../harness/subjects/binaries-under-test.ts';
import { type DebUnderTest, debUnderTest } from '../../harness/subjects/deb-under-test.ts';
import type { ExecOptions } from '../../harness/target/target.ts';
import { dockerfileBuild } from '../../helpers/buildctl-args.ts';
import { SERVES } from '../../helpers/tracking-issue.ts';

const RUN_FIXTURE = fileURLToPath(new URL('../../fixtures/binaries/run/Dockerfile', import.meta.url));
const RUNTIME_DIR = '/run/buildkit';
const SOCKET = `${RUNTIME_DIR}/buildkitd.sock`;
const APT = ['sudo', '-n', 'apt-get', '-y', '-q'];
/** An install never removes a package (the board's Docker stays as it is) and pulls no recommends. */
const INSTALL = [...APT, '--no-install-recommends', '--no-remove', 'install'];
const CONF = ['-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
/** dpkg as the runner's sudo allows it; an edited conffile is kept without asking (as CONF does for apt). */
const DPKG = ['sudo', '-n', 'dpkg', '--force-confdef', '--force-confold'];

/** Why these checks cannot run on this target (the features they need, then a package already there). */
async function unfit(ctx: PhaseContext): Promise<string | undefined> {
  for (const feature of ['systemd', 'apt-packages'] as const) {
    const why = missingFeature(ctx.facts, feature);
    if (why) return `needs ${feature}: ${why}`;
  }
  const r = await ctx.target.exec(
    [
      'sh',
      '-c',
      [
        'if dpkg -s buildkit 2>/dev/null | grep -qx "Status: install ok installed"; then',
        '  echo "needs no-buildkit-package: a buildkit package is installed ($(dpkg -s buildkit | sed -n "s/^Version: //p")); these checks would replace it"; exit',
        'fi',
        // Taken when a daemon listens there (a file left by a stopped one is no owner: systemd binds over it).
        `[ -z "$(ss -Hxl src ${SOCKET} 2>/dev/null)" ] || echo "needs no-buildkit-package: a daemon listens on ${SOCKET}"`,
      ].join('\n'),
    ],
    { reject: false, timeoutMs: 60_000 },
  );
  return r.stdout.trim() || undefined;
}

export function debianPackageChecks(ctx: PhaseContext, bins: () => BinariesUnderTest): void {
  describe('Debian package', { tags: [SERVES['#210']] }, () => {
    let why: string | undefined;
    let deb: DebUnderTest;
    let dir: string;
    let installed = false;

    /** As root, in a run-owned container of the small base with `mounts` (what a docker-group user can do). */
    const asRoot = (mounts: string[], argv: string[], o: ExecOptions) =>
      ctx.target.exec(
        [
          'docker',
          'run',
          '--rm',
          ...ctx.resources.labelFlags,
          ...mounts.flatMap((m) => ['-v', m]),
          SMALL_BASE,
          ...argv,
        ],
        o,
      );
    /** The entries of /run/buildkit (none when it is absent). */
    const runtimeEntries = async () =>
      (await ctx.target.exec(['sh', '-c', `ls -A ${RUNTIME_DIR} 2>/dev/null || true`])).stdout
        .split('\n')
        .filter(Boolean);
    let runtimeBefore: string[] = [];
    const state = async (unit: string, what: 'is-active' | 'is-enabled' | 'is-failed') =>
      (await ctx.target.exec(['systemctl', what, unit], { reject: false })).stdout.trim();
    /** `dpkg -s buildkit`'s Status, Version and Architecture ('' each when dpkg knows no such package). */
    const status = async () => {
      const out = (await ctx.target.exec(['dpkg', '-s', 'buildkit'], { reject: false })).stdout;
      const f = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
      return { status: f('Status'), version: f('Version'), arch: f('Architecture') };
    };
    /** The packages dpkg knows, in any state. */
    const known = async () =>
      (await ctx.target.exec(['dpkg-query', '-W'], { reject: false })).stdout
        .split('\n')
        .map((l) => l.split('\t')[0]!);

    /** Why the packaged service is not serving, as systemd says it (for a failure's evidence). */
    const serviceEvidence = async () =>
      (
        await ctx.target.exec(
          [
            'systemctl',
            'show',
            'buildkit.service',
            '-p',
            'ActiveState,Result,ExecMainCode,ExecMainStatus,ExecStart',
          ],
          { reject: false },
        )
      ).stdout.trim();

    /** The run fixture built through the packaged daemon's socket, by the packaged buildctl. */
    async function buildThroughSocket(name: string) {
      try {
        return await buildOnce(name);
      } catch (err) {
        throw new Error(
          `${(err as Error).message}\nbuildkit.service, as systemd reports it:\n${await serviceEvidence()}`,
        );
      }
    }
    async function buildOnce(name: string) {
      const out = `${dir}/${name}.oci.tar`;
      const r = await asRoot(
        ['/run/buildkit:/run/buildkit', '/usr/bin/buildctl:/usr/bin/buildctl:ro', `${dir}:${dir}`],
        [
          'sh',
          '-c',
          // The first connection starts buildkitd (socket activation); on a slow target it may take longer
          // than gRPC's 20 s connect deadline to answer, so the client waits for it (--wait, 3 min), as a
          // script would, and then builds.
          'buildctl --addr "$1" --wait --timeout 180 debug workers >/dev/null && exec buildctl --addr "$@"',
          'sh',
          `unix://${SOCKET}`,
          ...dockerfileBuild(`${dir}/run`, `type=oci,dest=${out}`),
        ],
        { context: `building the run fixture through ${SOCKET}`, timeoutMs: 15 * 60_000 },
      );
      const image = await ociImage(ctx.target, out);
      return { r, arch: (await topLayerFile(ctx.target, out, image, 'arch.txt')).trim() };
    }

    beforeAll(async () => {
      why = await unfit(ctx);
      if (why) return;
      deb = await debUnderTest(bins(), ctx.config.deb);
      dir = await ctx.resources.tempDir('deb');
      await ctx.target.exec(['chmod', '0755', dir]);
      for (const f of [deb.file, deb.newer]) await ctx.target.upload(f, `${dir}/${f.split('/').pop()}`);
      await ctx.target.upload(RUN_FIXTURE, `${dir}/run/Dockerfile`);
      // What the install adds (the package and any dependency it pulls) is purged at cleanup, also on failure.
      const before = await known();
      runtimeBefore = await runtimeEntries();
      ctx.resources.defer('the buildkit package and what it pulled in', async () => {
        const added = (await known()).filter((p) => p && !before.includes(p));
        if (added.length)
          await ctx.target.exec([...APT, 'purge', ...added], {
            timeoutMs: 10 * 60_000,
          });
      });
    });

    const gate = (skip: (note: string) => void) => {
      if (why) skip(why);
    };

    test("sudo apt-get install ./buildkit_*.deb installs it, its dependencies from the target's own APT sources", async ({
      skip,
      annotate,
    }) => {
      gate(skip);
      const name = deb.file.split('/').pop();
      await annotate(`${deb.source}: ${name}`);
      const r = await ctx.target.exec([...INSTALL, ...CONF, `${dir}/${name}`], {
        context: `sudo apt-get install ./${name}`,
        timeoutMs: 15 * 60_000,
      });
      installed = true;
      await annotate(`installed in ${(r.durationMs / 1000).toFixed(1)}s`);
      const { status: st, version, arch } = await status();
      expect(st).toBe('install ok installed');
      expect(arch, 'the package is for the target').toBe('riscv64');
      expect(
        version?.startsWith(`${deb.expectedUpstream}-`),
        `version ${version}, asked for ${deb.expectedUpstream}`,
      ).toBe(true);
      const files = (await ctx.target.exec(['dpkg', '-L', 'buildkit'])).stdout.split('\n');
      for (const f of [
        '/usr/bin/buildkitd',
        '/usr/bin/buildctl',
        '/usr/lib/systemd/system/buildkit.socket',
        '/usr/lib/systemd/system/buildkit.service',
        CONFFILE,
      ])
        expect(files, `dpkg -L buildkit lists ${f}`).toContain(f);
    });

    test('the socket is active, and the first buildctl through it starts buildkitd (socket activation) with the edited conffile; a RUN step builds', async ({
      skip,
      annotate,
    }) => {
      gate(skip);
      expect(installed, 'not installed (see the install check)').toBe(true);
      expect(await state('buildkit.socket', 'is-enabled')).toBe('enabled');
      expect(await state('buildkit.socket', 'is-active')).toBe('active');
      expect(await state('buildkit.service', 'is-active'), 'nothing has connected yet').not.toBe('active');
      // The administrator's edit: the run's registry mirror where there is one (the lab has no Docker Hub).
      const mirror = ctx.config.registryMirror;
      const edit = [
        `# edited by ${ctx.resources.runId}`,
        ...(mirror
          ? [`[registry."docker.io"]`, `  mirrors = ["${mirror}"]`, `[registry."${mirror}"]`, '  http = true']
          : []),
      ].join('\n');
      await asRoot(
        ['/etc/buildkit:/etc/buildkit'],
        ['sh', '-c', 'printf "%s\\n" "$1" >> /etc/buildkit/buildkitd.toml', 'sh', edit],
        {
          context: `editing ${CONFFILE}`,
        },
      );
      const { r, arch } = await buildThroughSocket('first');
      await annotate(`first build through the socket: ${(r.durationMs / 1000).toFixed(1)}s`);
      expect(arch, 'uname -m in the RUN step').toBe('riscv64');
      const show = (
        await ctx.target.exec(
          ['systemctl', 'show', 'buildkit.service', '-p', 'ActiveState,ExecMainStatus,TriggeredBy'],
          { reject: false },
        )
      ).stdout;
      expect(await state('buildkit.service', 'is-active'), `started by the connection:\n${show}`).toBe(
        'active',
      );
      expect(show).toMatch(/TriggeredBy=.*buildkit\.socket/);
    });

    test('an edited conffile survives an upgrade to a newer build, and the daemon serves again after it', async ({
      skip,
      annotate,
    }) => {
      gate(skip);
      expect(installed, 'not installed (see the install check)').toBe(true);
      const name = deb.newer.split('/').pop();
      await ctx.target.exec([...DPKG, '-i', `${dir}/${name}`], {
        context: `upgrading to ${name} (sudo dpkg -i)`,
        timeoutMs: 15 * 60_000,
      });
      expect((await status()).version, 'the newer build is installed').toBe(deb.newerVersion);
      const conf = await ctx.target.exec(['cat', CONFFILE], { context: `reading ${CONFFILE}` });
      expect(conf.stdout, `${CONFFILE} after the upgrade`).toContain(`# edited by ${ctx.resources.runId}`);
      expect(await state('buildkit.socket', 'is-active')).toBe('active');
      const { r, arch } = await buildThroughSocket('after-upgrade');
      await annotate(`build after the upgrade: ${(r.durationMs / 1000).toFixed(1)}s`);
      expect(arch).toBe('riscv64');
    });

    test('dpkg --remove stops and disables the units and keeps the state; --purge removes the state and the conffile, and leaves no socket or failed unit behind', async ({
      skip,
    }) => {
      gate(skip);
      expect(installed, 'not installed (see the install check)').toBe(true);
      await ctx.target.exec([...DPKG, '--remove', 'buildkit'], {
        context: 'sudo dpkg --remove buildkit',
        timeoutMs: 10 * 60_000,
      });
      for (const unit of ['buildkit.socket', 'buildkit.service'])
        expect(await state(unit, 'is-active'), `${unit} after remove`).not.toMatch(
          /^(active|activating|reloading)$/,
        );
      expect(await state('buildkit.socket', 'is-enabled'), 'buildkit.socket after remove').not.toMatch(
        /^enabled/,
      );
      const kept = await ctx.target.exec(
        ['sh', '-c', 'test -d /var/lib/buildkit && test -e /etc/buildkit/buildkitd.toml'],
        { reject: false },
      );
      expect(kept.exitCode, 'remove keeps /var/lib/buildkit and the conffile').toBe(0);
      await ctx.target.exec([...DPKG, '--purge', 'buildkit'], {
        context: 'sudo dpkg --purge buildkit',
        timeoutMs: 10 * 60_000,
      });
      const gone = await ctx.target.exec(
        ['sh', '-c', 'test ! -e /var/lib/buildkit && test ! -e /etc/buildkit/buildkitd.toml'],
        { reject: false },
      );
      expect(gone.exitCode, 'purge removes /var/lib/buildkit and the conffile').toBe(0);
      expect((await status()).status, 'dpkg knows no buildkit after purge').toBe('');
      // What the daemon and its socket made at run time goes with the package: a socket file left in
      // /run/buildkit, or a unit systemd still lists as failed, is the package's litter on the runner.
      const left = (await runtimeEntries()).filter((e) => !runtimeBefore.includes(e));
      expect(left, `what purge left in ${RUNTIME_DIR} (not there before the install)`).toEqual([]);
      for (const unit of ['buildkit.socket', 'buildkit.service'])
        expect(await state(unit, 'is-failed'), `${unit} after purge (systemctl is-failed)`).not.toBe(
          'failed',
        );
    });
  });
}
