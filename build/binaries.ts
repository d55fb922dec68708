/**
 * The phase's build script: buildkitd and buildctl from BuildKit source (a checkout, or a release ref
 * fetched as the Go module through the module proxy), static, reproducible, with upstream's version
 * injection, laid out like upstream's release archive. Over 250 lines: one script, from a ref to the
 * release files, each step depending on the one before.
 *
 *   buildkit-acceptance build-binaries [--ref vX.Y.Z | --source DIR] [--goarch riscv64] [--out DIR] [--fresh]
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_BUILDKIT_REF, defaultCacheDir } from '../harness/plan/config.ts';
import { lowestPriority } from '../harness/target/process-tree.ts';
import { formatDuration } from '../helpers/command-result.ts';
import { errorMessage } from '../helpers/errors.ts';

export const MODULE = 'github.com/moby/buildkit';

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

export interface BuildOptions {
  /** A release tag (or commit) fetched as the Go module through the module proxy. */
  ref?: string;
  /** A BuildKit checkout (the runner keeps it as a git submodule); wins over `ref`. */
  source?: string;
  /** Default: the host's GOARCH (native). Anything else cross-compiles, which only the lab does. */
  goarch?: string;
  outDir?: string;
  fresh?: boolean;
  /** false builds without upstream's -X version flags: the self tests' broken fixture, never a release. */
  versionInjection?: boolean;
  /**
   * Dependencies replaced by local directories (module path -> directory), through a go.mod of the
   * build's own (`go build -modfile`; the source stays as fetched). Only the self tests' broken builds use
   * it (a dependency as it was before a fix), never a release; what the directories hold is part of the
   * cache key.
   */
  replace?: Record<string, string>;
  /** Compile at the lowest CPU priority (nice 19): a build made ahead of need, beside other work. */
  background?: boolean;
  /**
   * How long each `go build` may take before it is killed (default 45 minutes: a cold build on an
   * 8-core board takes a fraction of it; an emulated riscv64 needs longer, --build-deadline).
   */
  deadlineMs?: number;
  log?: (line: string) => void;
}

export interface BuildManifest {
  ref: string;
  version: string;
  revision: string;
  source: string;
  goVersion: string;
  goarch: string;
  hostArch: string;
  mode: 'native' | 'cross-compiled';
  builtAt: string;
  sizes: Record<string, number>;
  sha256: Record<string, string>;
  tarball: string;
}

export interface BuildOutput {
  dir: string;
  binDir: string;
  tarball: string;
  manifest: BuildManifest;
  cached: boolean;
}

const sha256File = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

/** The default deadline of one `go build` (see BuildOptions.deadlineMs), and of the other go commands. */
export const BUILD_DEADLINE_MS = 45 * 60_000;
/**
 * How the binaries are built, in the cache key: a changed recipe (flags) is a new build, never an old
 * build reused. r2: without -trimpath, so the build info records -ldflags and the injected version.
 */
const RECIPE = 'r2';

/**
 * The build's manifest.json for binaries laid out as this script lays them out (DIR/bin/buildkitd, or the
 * bin directory itself given): beside them, or in the directory above their bin/.
 */
export function manifestFileFor(dir: string): string | undefined {
  const binDir = existsSync(join(dir, 'bin', 'buildkitd')) ? join(dir, 'bin') : dir;
  return [join(dir, 'manifest.json'), join(binDir, '..', 'manifest.json')].find(existsSync);
}

async function go(
  args: string[],
  env: Record<string, string>,
  cwd?: string,
  timeoutMs = BUILD_DEADLINE_MS,
  background = false,
) {
  // In the background: the lowest CPU weight, in a session of its own (see lowestPriority).
  const [file, argv] = background ? lowestPriority(['go', ...args]) : ['go', args];
  const r = await execa(file, argv, {
    detached: background,
    cwd,
    env: { ...process.env, ...env },
    reject: false,
    all: true,
    timeout: timeoutMs,
  });
  if (r.failed && (r as { code?: string }).code === 'ENOENT') {
    throw new BuildError(
      'no Go toolchain on PATH: install Go (Debian: apt-get install golang-go) and try again',
    );
  }
  return r;
}

function versionOf(text: string): number[] {
  const m = /go(\d+)\.(\d+)(?:\.(\d+))?/.exec(text) ?? /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

function older(a: number[], b: number[]): boolean {
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! < b[i]!;
  return false;
}

interface Source {
  /** Absent when this host's Go is older than the module's go.mod asks (`requiredGo`). */
  dir?: string;
  requiredGo?: string;
  ref: string;
  version: string;
  revision: string;
  description: string;
}

/**
 * What a ref names, as the Go module proxy resolves it (version and content hash), independent of any
 * build: the phase's expected version and revision come from here, never from the build's own output.
 */
export async function resolveRef(ref: string): Promise<{ version: string; revision: string }> {
  const src = await fetchModule(ref);
  return { version: src.version, revision: src.revision };
}

/** The (read-only) directory of BuildKit's source at `ref`, fetched through the Go module proxy. */
export async function sourceDir(ref: string): Promise<string> {
  return await dirOf(await fetchModule(ref));
}

/** The source's directory, or why this host's Go cannot have it (too old for its go.mod), with the fix. */
async function dirOf(src: Source): Promise<string> {
  if (src.dir) return src.dir;
  throw new BuildError(tooOldGo(`BuildKit ${src.version}'s`, src.requiredGo ?? '', await hostGo()));
}

/** This host's own Go version (never a downloaded toolchain's). */
async function hostGo(): Promise<string> {
  return (await go(['env', 'GOVERSION'], { GOTOOLCHAIN: 'local' })).stdout.trim();
}

/** `<whose> go.mod needs Go X, this host has Y: <the fix>`. */
const tooOldGo = (whose: string, required: string, host: string) =>
  `${whose} go.mod needs Go ${required}, this host has ${host}: ${goUpgradeHint(required)}`;

/** Fetches the module at `ref` through the Go module proxy and returns its (read-only) directory. */
async function fetchModule(ref: string): Promise<Source> {
  // This host's own Go (never a silent toolchain download: the proxy a board reaches refuses riscv64
  // toolchains), unless GOTOOLCHAIN names one. A Go older than the module's go.mod still gets its
  // version and content hash (what a phase expects), only not its files (what a build needs).
  const asked = process.env.GOTOOLCHAIN;
  const toolchain = asked && /^go\d/.test(asked) ? asked : 'local';
  const r = await go(['mod', 'download', '-json', `${MODULE}@${ref}`], {
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: toolchain,
  });
  let info: { Dir?: string; Version?: string; Sum?: string; Error?: string } = {};
  try {
    info = JSON.parse(r.stdout || '{}');
  } catch {
    // fall through to the error below
  }
  const tooOld = /requires go >= (\d+\.\d+(?:\.\d+)?)/.exec(info.Error ?? '');
  if (!info.Dir && tooOld && info.Version && info.Sum)
    return {
      ref,
      version: info.Version,
      revision: info.Sum,
      requiredGo: tooOld[1],
      description: `${MODULE}@${info.Version} (Go module proxy, ${info.Sum})`,
    };
  if (r.failed || !info.Dir) {
    const why = info.Error ?? r.all ?? '';
    if (/unknown revision|invalid version|not found|no matching versions/i.test(why)) {
      throw new BuildError(
        `BuildKit ref '${ref}' does not exist (the module proxy knows no ${MODULE}@${ref}); give a release tag such as ${DEFAULT_BUILDKIT_REF}`,
      );
    }
    if (/403 Forbidden|not available/i.test(why)) {
      throw new BuildError(
        `BuildKit ref '${ref}' is not served by the Go module proxy (it does not exist, or the proxy refuses it); give a release tag it serves, such as ${DEFAULT_BUILDKIT_REF}`,
      );
    }
    if (/dial tcp|no such host|connection refused|i\/o timeout|TLS handshake|proxyconnect/i.test(why)) {
      throw new BuildError(
        `cannot reach the Go module proxy (${process.env.GOPROXY || 'proxy.golang.org'}) to fetch ${MODULE}@${ref}: check the network or GOPROXY, or build from a checkout with --source`,
      );
    }
    throw new BuildError(`fetching ${MODULE}@${ref} failed: ${why.trim().split('\n').slice(-3).join(' ')}`);
  }
  // The proxy does not say which commit a tag is; the module's content hash identifies the exact source.
  return {
    dir: info.Dir,
    ref,
    version: info.Version ?? ref,
    revision: info.Sum ?? 'unknown',
    description: `${MODULE}@${info.Version} (Go module proxy, ${info.Sum})`,
  };
}

/** A BuildKit checkout (git submodule): present, clean, and named by `git describe`. */
async function checkout(dir: string): Promise<Source> {
  const abs = resolve(dir);
  if (!existsSync(join(abs, 'go.mod'))) {
    throw new BuildError(
      `no BuildKit source at ${abs} (no go.mod): run 'git submodule update --init' or give --ref`,
    );
  }
  const mod = await readFile(join(abs, 'go.mod'), 'utf8');
  if (!new RegExp(`^module ${MODULE.replace(/\./g, '\\.')}\\s*$`, 'm').test(mod)) {
    throw new BuildError(`${abs} is not a BuildKit checkout (its go.mod does not declare module ${MODULE})`);
  }
  const git = (args: string[]) => execa('git', ['-C', abs, ...args], { reject: false });
  const status = await git(['status', '--porcelain', '--untracked-files=no']);
  if (status.failed) throw new BuildError(`${abs} is not a git checkout: run 'git submodule update --init'`);
  if (status.stdout.trim()) {
    throw new BuildError(
      `the BuildKit checkout at ${abs} has uncommitted changes; commit them or reset it with 'git submodule update --force'`,
    );
  }
  const revision = (await git(['rev-parse', 'HEAD'])).stdout.trim();
  const described = await git(['describe', '--tags', '--match', 'v[0-9]*', '--always']);
  const version = described.stdout.trim() || revision.slice(0, 12);
  return { dir: abs, ref: version, version, revision, description: `checkout ${abs} at ${revision}` };
}

/** The one line that fixes a Go too old for BuildKit, within a runner's sudo (apt-get only). */
export function goUpgradeHint(required: string): string {
  return `install Go >= ${required} (Debian trixie: sudo apt-get install -t trixie-backports golang-go), or allow a toolchain download for this build with GOTOOLCHAIN=go${required}`;
}

/** The Go the source's go.mod requires, and this host's own (never a downloaded one). */
async function goVersions(srcDir: string): Promise<{ required: string; host: string }> {
  const mod = await readFile(join(srcDir, 'go.mod'), 'utf8');
  const required = /^go (\d+\.\d+(?:\.\d+)?)/m.exec(mod)?.[1] ?? '1.0';
  return { required, host: await hostGo() };
}

/**
 * Why this host's Go cannot build BuildKit `ref` natively (none, or older than its go.mod asks), with
 * the fix; undefined when it can. For `doctor`, before a run that would build.
 */
export async function toolchainProblem(ref: string): Promise<string | undefined> {
  const which = await go(['version'], { GOTOOLCHAIN: 'local' });
  if (which.failed) return 'no Go on PATH to build the binaries natively: sudo apt-get install golang-go';
  const src = await fetchModule(ref);
  if (!src.dir) return tooOldGo(`BuildKit ${src.version}'s`, src.requiredGo ?? '', await hostGo());
  const { required, host } = await goVersions(src.dir);
  if (!older(versionOf(host), versionOf(required))) return undefined;
  return tooOldGo(`BuildKit ${ref}'s`, required, host);
}

/**
 * The Go to use: the host's when it satisfies go.mod; else a toolchain download only when asked for by
 * name (GOTOOLCHAIN=goX.Y.Z in the environment), said in the log; else a sentence with the fix. Never a
 * silent download (the proxy a board reaches may refuse it, and it would bypass the board's own Go).
 */
async function chooseToolchain(
  srcDir: string,
  log: (line: string) => void,
): Promise<{ env: Record<string, string>; goVersion: string }> {
  const { required, host } = await goVersions(srcDir);
  if (!older(versionOf(host), versionOf(required))) return { env: { GOTOOLCHAIN: 'local' }, goVersion: host };
  const asked = process.env.GOTOOLCHAIN;
  if (!asked || !/^go\d/.test(asked) || older(versionOf(asked.replace(/\+.*$/, '')), versionOf(required)))
    throw new BuildError(tooOldGo("BuildKit's", required, host));
  log(`binaries: this host has ${host}; fetching ${asked} as GOTOOLCHAIN asks`);
  const auto = await go(['version'], { GOTOOLCHAIN: asked }, srcDir, 10 * 60_000);
  if (auto.failed) {
    throw new BuildError(
      `BuildKit's go.mod needs Go ${required}, this host has ${host} and Go could not fetch ${asked} (GOTOOLCHAIN): ${auto.stderr.trim().split('\n').slice(-2).join(' ')}; ${goUpgradeHint(required)}`,
    );
  }
  return { env: { GOTOOLCHAIN: asked }, goVersion: asked };
}

/** A digest of what replaces which module: each path and every file under its directory (12 hex digits). */
async function replacementDigest(replace: Record<string, string>): Promise<string> {
  const h = createHash('sha256');
  for (const [module, dir] of Object.entries(replace).sort()) {
    h.update(`${module}\0`);
    for (const f of (await readdir(dir, { recursive: true })).sort()) {
      const path = join(dir, f);
      if ((await stat(path)).isFile())
        h.update(`${f}\0`)
          .update(await readFile(path))
          .update('\0');
    }
  }
  return h.digest('hex').slice(0, 12);
}

/** A copy of the source's go.mod and go.sum, in `dir`, with `replace` directives added; its path. */
async function modfileWith(srcDir: string, replace: Record<string, string>, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const mod = join(dir, 'replaced.mod');
  const lines = Object.entries(replace).map(([m, d]) => `replace ${m} => ${resolve(d)}`);
  await writeFile(mod, `${await readFile(join(srcDir, 'go.mod'), 'utf8')}\n${lines.join('\n')}\n`);
  await writeFile(join(dir, 'replaced.sum'), await readFile(join(srcDir, 'go.sum')));
  return mod;
}

export async function buildBinaries(options: BuildOptions): Promise<BuildOutput> {
  const log = options.log ?? (() => {});
  const src = options.source ? await checkout(options.source) : await fetchModule(options.ref ?? 'latest');
  const srcDir = await dirOf(src);
  const { env: toolEnv, goVersion } = await chooseToolchain(srcDir, log);
  const hostArch = (await go(['env', 'GOARCH'], { GOTOOLCHAIN: 'local' })).stdout.trim();
  const goarch = options.goarch ?? hostArch;
  const mode = goarch === hostArch ? 'native' : 'cross-compiled';
  const outRoot = options.outDir ?? join(defaultCacheDir(), 'binaries');
  const replaced = options.replace ? `-replaced${await replacementDigest(options.replace)}` : '';
  const key = `${src.version}-${src.revision.replace(/[^A-Za-z0-9]/g, '').slice(0, 16)}-${goVersion}-linux-${goarch}-${RECIPE}${options.versionInjection === false ? '-noversion' : ''}${replaced}`;
  const dir = join(outRoot, key);
  const manifestPath = join(dir, 'manifest.json');
  if (!options.fresh && existsSync(manifestPath)) {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as BuildManifest;
    log(`binaries: reusing ${dir} (built ${manifest.builtAt}; --fresh rebuilds)`);
    return { dir, binDir: join(dir, 'bin'), tarball: join(dir, manifest.tarball), manifest, cached: true };
  }

  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(join(partial, 'bin'), { recursive: true });
  const modDir = `${partial}.mod`;
  try {
    const ldflags = [
      '-s',
      '-w',
      '-buildid=',
      ...(options.versionInjection === false
        ? []
        : [
            `-X ${MODULE}/version.Version=${src.version}`,
            `-X ${MODULE}/version.Revision=${src.revision}`,
            `-X ${MODULE}/version.Package=${MODULE}`,
          ]),
    ].join(' ');
    const env = {
      ...toolEnv,
      CGO_ENABLED: '0',
      GOOS: 'linux',
      GOARCH: goarch,
      // The RISC-V profile every rv64gc board runs (Go's default), pinned: a GORISCV64 left in the
      // builder's environment (rva22u64, rva23u64) would make binaries an rv64gc board cannot run,
      // under the same cache key. The binaries phase checks the profile against the target's CPU.
      ...(goarch === 'riscv64' ? { GORISCV64: 'rva20u64' } : {}),
      GOFLAGS: '-mod=mod -modcacherw',
    };
    const modfile = options.replace && (await modfileWith(srcDir, options.replace, modDir));
    const deadline = options.deadlineMs ?? BUILD_DEADLINE_MS;
    for (const cmd of ['buildctl', 'buildkitd']) {
      log(`binaries: go build ./cmd/${cmd} (${src.version}, ${goVersion}, linux/${goarch}, ${mode})`);
      const t0 = performance.now();
      const r = await go(
        [
          'build',
          // No -trimpath, as upstream's release build: with it Go leaves -ldflags out of the build info
          // (go.dev/issue/52372), and SBOM scanners that read the build info (syft's default, in Docker
          // Hub's buildkit-syft-scanner) then list buildkitd and buildctl as github.com/moby/buildkit
          // (devel) instead of the version -X injects. The build info then names this module cache's
          // path; builds are byte-identical on one machine, not across module cache paths.
          '-buildvcs=false',
          ...(modfile ? [`-modfile=${modfile}`] : []),
          '-ldflags',
          ldflags,
          '-o',
          join(partial, 'bin', cmd),
          `./cmd/${cmd}`,
        ],
        env,
        srcDir,
        deadline,
        options.background,
      );
      if (r.timedOut) {
        const tail = (r.all ?? '').trim().split('\n').slice(-5).join('\n');
        throw new BuildError(
          `go build ./cmd/${cmd} did not finish within ${formatDuration(deadline)} and was killed (--build-deadline MINUTES gives a slower machine longer)${tail ? `\n${tail}` : ''}`,
        );
      }
      if (r.failed) {
        const tail = (r.all ?? '').trim().split('\n').slice(-15).join('\n');
        if (/dial tcp|no such host|proxyconnect|i\/o timeout/.test(tail)) {
          throw new BuildError(
            `cannot reach the Go module proxy to download BuildKit's dependencies: check the network or GOPROXY\n${tail}`,
          );
        }
        throw new BuildError(`go build ./cmd/${cmd} failed:\n${tail}`);
      }
      log(`binaries: ${cmd} built in ${((performance.now() - t0) / 1000).toFixed(0)}s`);
    }
    const tarball = `buildkit-${src.version}.linux-${goarch}.tar.gz`;
    await execa('sh', [
      '-c',
      `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - bin | gzip -n -9 > "$1/$2"`,
      'sh',
      partial,
      tarball,
    ]);
    await writeFile(join(partial, 'VERSION.txt'), `${src.version}\n`);
    const files = ['bin/buildkitd', 'bin/buildctl', tarball];
    const sha256: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const f of files) {
      sha256[f] = await sha256File(join(partial, f));
      sizes[f] = (await stat(join(partial, f))).size;
    }
    await writeFile(join(partial, 'SHA256SUMS'), files.map((f) => `${sha256[f]}  ${f}\n`).join(''));
    const manifest: BuildManifest = {
      ref: src.ref,
      version: src.version,
      revision: src.revision,
      // A build with replaced dependencies says so (only the self tests' broken builds have one).
      source: options.replace
        ? `${src.description}, with ${Object.keys(options.replace).join(', ')} replaced by a local copy`
        : src.description,
      goVersion,
      goarch,
      hostArch,
      mode,
      builtAt: new Date().toISOString(),
      sizes,
      sha256,
      tarball,
    };
    await writeFile(join(partial, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    return { dir, binDir: join(dir, 'bin'), tarball: join(dir, tarball), manifest, cached: false };
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err instanceof BuildError ? err : new BuildError(errorMessage(err));
  } finally {
    await rm(modDir, { recursive: true, force: true });
  }
}
