/**
 * The lab registry's `docker/buildkit-syft-scanner:stable-1` stand-in (riscv64): BuildKit's default SBOM
 * generator as the lab can have it. Docker Hub's image publishes linux/riscv64, but the lab reaches no
 * Docker Hub, and its Go source is not served by the Go module proxy (403); syft is. So the lab builds
 * syft's CLI from its module, at the pinned release, with syft's own go.sum, plus `syft-scanner`
 * (./syft-scanner/main.go): the protocol glue BuildKit runs (BUILDKIT_SCAN_SOURCE, _EXTRAS,
 * _DESTINATION). Both are static, cross-built on the host at the lowest CPU priority while the VM's
 * disk is made, and kept in the lab cache. On a real runner the scanner is Docker Hub's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { errorMessage } from '../../helpers/errors.ts';
import { lowestPriority } from '../target/process-tree.ts';
import { rootfsTar } from './rootfs-tar.ts';

export const SCANNER_REPOSITORY = 'docker/buildkit-syft-scanner';
export const SCANNER_TAG = 'stable-1';
/** syft's release the stand-in is built from (the Go module proxy serves it). */
export const SYFT_MODULE = 'github.com/anchore/syft';
export const SYFT_VERSION = 'v1.57.1';
const GLUE = fileURLToPath(new URL('./syft-scanner/', import.meta.url));
/** Where the image runs it: the image config's command (BuildKit runs Entrypoint + Cmd). */
export const SCANNER_CMD = ['/usr/bin/syft-scanner'];

/**
 * A cold `go build` of syft for riscv64 took 5.5 minutes at nice 19 beside a running lab, and more than 30
 * minutes on a fresh 2-core machine beside the VM disk and the BuildKit builds (it only takes idle CPU):
 * a slow build is not a dead one.
 */
const BUILD_DEADLINE_MS = 90 * 60_000;

export interface ScannerBuild {
  dir: string;
  /** What the image's history says made it. */
  createdBy: string;
}

async function go(args: string[], env: Record<string, string>, cwd: string, what: string): Promise<string> {
  const [file, argv] = lowestPriority(['go', ...args]);
  const r = await execa(file, argv, {
    cwd,
    env: { ...process.env, GOTOOLCHAIN: 'local', ...env },
    reject: false,
    all: true,
    detached: true,
    timeout: BUILD_DEADLINE_MS,
  });
  if (r.failed) {
    const tail = (r.all ?? '').trim().split('\n').slice(-10).join('\n');
    throw new Error(
      `lab: ${what} ${r.timedOut ? `did not finish within ${BUILD_DEADLINE_MS / 60_000} min` : `failed (exit ${r.exitCode})`}${tail ? `:\n${tail}` : ''}`,
    );
  }
  return r.stdout;
}

/** What names a build: syft's release and the glue's sources, hashed (a changed main.go is a new build). */
export async function scannerKey(): Promise<string> {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'main.go']) h.update(await readFile(join(GLUE, f)));
  return `scanner-${SYFT_VERSION}-${h.digest('hex').slice(0, 12)}`;
}

/**
 * syft (`-X main.version`, as syft's release build sets it) and the glue for linux/riscv64, in
 * `<cacheDir>/<scannerKey>/`; reused when there.
 */
export async function buildScanner(cacheDir: string): Promise<ScannerBuild> {
  const dir = join(cacheDir, await scannerKey());
  const createdBy = `syft ${SYFT_VERSION} from ${SYFT_MODULE} (Go module proxy) and the buildkit-acceptance lab's syft-scanner glue`;
  if (existsSync(join(dir, 'syft')) && existsSync(join(dir, 'syft-scanner'))) return { dir, createdBy };
  const env = { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'riscv64', GORISCV64: 'rva20u64' };
  const syft = await buildSyft(join(cacheDir, `syft-${SYFT_VERSION}`), env);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await execa('cp', ['--preserve=mode', syft, join(partial, 'syft')]);
    await go(
      ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(partial, 'syft-scanner'), '.'],
      env,
      GLUE,
      'go build of the syft-scanner glue for linux/riscv64',
    );
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    return { dir, createdBy };
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err instanceof Error && err.message.startsWith('lab:')
      ? err
      : new Error(`lab: ${errorMessage(err)}`);
  }
}

/** syft's CLI at the pinned release, in `dir/syft` (made once: minutes of `go build`). */
async function buildSyft(dir: string, env: Record<string, string>): Promise<string> {
  const out = join(dir, 'syft');
  if (existsSync(out)) return out;
  const partial = `${out}.partial-${process.pid}`;
  await mkdir(dir, { recursive: true });
  try {
    const info = JSON.parse(
      await go(
        ['mod', 'download', '-json', `${SYFT_MODULE}@${SYFT_VERSION}`],
        { GOFLAGS: '-mod=mod' },
        dir,
        `fetching ${SYFT_MODULE}@${SYFT_VERSION} through the Go module proxy`,
      ),
    ) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new Error(`lab: ${SYFT_MODULE}@${SYFT_VERSION}: ${info.Error ?? 'no directory'}`);
    const version = SYFT_VERSION.replace(/^v/, '');
    await go(
      [
        ...['build', '-trimpath', '-buildvcs=false', '-ldflags'],
        `-s -w -X main.version=${version} -X main.gitDescription=${SYFT_VERSION}`,
        ...['-o', partial, './cmd/syft'],
      ],
      { ...env, GOFLAGS: '-mod=mod -modcacherw' },
      info.Dir,
      `go build of syft ${SYFT_VERSION} for linux/riscv64`,
    );
    await rename(partial, out);
    return out;
  } finally {
    await rm(partial, { force: true });
  }
}

/** The stand-in's root filesystem at `out`: the two binaries, /tmp, and nothing else (both are static). */
export async function scannerRootfs(built: ScannerBuild, out: string): Promise<void> {
  if (existsSync(out)) return;
  await rootfsTar(out, async (root) => {
    for (const d of ['usr/bin', 'tmp', 'etc']) await mkdir(join(root, d), { recursive: true });
    for (const f of ['syft', 'syft-scanner'])
      await execa('cp', ['--preserve=mode', join(built.dir, f), join(root, 'usr/bin', f)]);
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/false\n');
  });
}
