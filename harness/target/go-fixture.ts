/**
 * Small Go programs of fixtures/ (no dependencies) built for a platform by the machine running the
 * suite, once per run and platform: cross-compiled here, native on a board. Any Go since 1.22 builds
 * them; without Go, the checks that need one skip with the reason.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError } from '../../helpers/command-result.ts';
import { LocalTarget } from './local-target.ts';
import { localTempDir } from './local-temp.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const KEY = Symbol.for('buildkit-acceptance.go-fixtures');
const store = globalThis as unknown as Record<symbol, Map<string, Promise<GoFixture>> | undefined>;

/**
 * A cold Go build cache compiles the standard library for the platform first: seconds on a workstation,
 * more than 10 minutes for Debian's Go on an emulated riscv64 guest that the other phases keep busy (a
 * 10-minute deadline killed two such builds in an all-phase board rehearsal).
 */
const BUILD_DEADLINE_MS = 30 * 60_000;

export type GoFixture = { file: string } | { missing: string };

/**
 * `source`: a directory under fixtures/ (e.g. `seccomp/probe`); `goarch`: amd64, arm64, riscv64, or
 * none for this machine's own (as Go sees it), to run here.
 */
export function goFixture(source: string, goarch?: string): Promise<GoFixture> {
  store[KEY] ??= new Map();
  const built = store[KEY];
  const key = `${source}:${goarch ?? 'host'}`;
  let p = built.get(key);
  if (!p) {
    p = (async () => {
      const out = join(
        await localTempDir('go-fixture'),
        `${source.replace(/\W+/g, '-')}-${goarch ?? 'host'}`,
      );
      // The command result every target gives: a killed build says it timed out, and after how long.
      const r = await new LocalTarget().exec(['go', 'build', '-trimpath', '-o', out, '.'], {
        cwd: join(FIXTURES, source),
        env: {
          CGO_ENABLED: '0',
          GOOS: 'linux',
          ...(goarch ? { GOARCH: goarch } : {}),
          GOFLAGS: '-mod=mod',
          GOTOOLCHAIN: 'local',
        },
        reject: false,
        timeoutMs: BUILD_DEADLINE_MS,
      });
      // Never started because there is no `go` (execa's spawn error, not a missing fixture directory).
      if (r.exitCode === undefined && /^spawn go ENOENT$/m.test(r.stderr) && !/"cwd"/.test(r.stderr))
        return {
          missing: `needs go: the machine running the suite builds fixtures/${source} (apt-get install golang-go)`,
        };
      if (r.failed)
        throw new CommandError(r, { context: `building fixtures/${source} for ${goarch ?? 'this machine'}` });
      return { file: out };
    })();
    built.set(key, p);
  }
  return p;
}
