/**
 * The seccomp probe (fixtures/seccomp/probe, Go, no dependencies), built for the target once per run
 * by the machine running the suite: cross-compiled here, native on a board. Go of any version since
 * 1.22 builds it; without Go, the checks that need it skip.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { localTempDir } from './local-temp.ts';

const SOURCE = fileURLToPath(new URL('../fixtures/seccomp/probe/', import.meta.url));
const KEY = Symbol.for('buildkit-acceptance.seccomp-probe');
const store = globalThis as unknown as Record<symbol, Promise<SeccompProbe> | undefined>;

export type SeccompProbe = { file: string } | { missing: string };

export function seccompProbe(goarch = 'riscv64'): Promise<SeccompProbe> {
  store[KEY] ??= (async () => {
    const out = join(await localTempDir('seccomp-probe'), 'seccomp-probe');
    const r = await execa('go', ['build', '-trimpath', '-o', out, '.'], {
      cwd: SOURCE,
      env: { CGO_ENABLED: '0', GOOS: 'linux', GOARCH: goarch, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
      reject: false,
      all: true,
      timeout: 10 * 60_000,
    });
    if ((r as { code?: string }).code === 'ENOENT')
      return {
        missing:
          'needs go: the machine running the suite builds the seccomp probe (apt-get install golang-go)',
      };
    if (r.failed) throw new Error(`building the seccomp probe failed (exit ${r.exitCode}):\n${r.all}`);
    return { file: out };
  })();
  return store[KEY];
}
