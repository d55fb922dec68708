/**
 * A Go binary's build facts, from `go version -m FILE` (the Go version, the main package and module,
 * the dependencies, and the `build` settings: -trimpath, CGO_ENABLED, GOARCH, GORISCV64, ...), and what
 * they must be for a riscv64 release binary.
 */
export interface GoBuildInfo {
  goVersion: string;
  path: string;
  mainModule: string;
  mainVersion: string;
  settings: Record<string, string>;
  deps: Record<string, string>;
}

/** Parses `go version -m` of one binary; undefined when it printed no build info. */
export function parseGoBuildInfo(stdout: string): GoBuildInfo | undefined {
  const [first, ...rest] = stdout.split('\n');
  const goVersion = /:\s+(go\S+)\s*$/.exec(first ?? '')?.[1];
  if (!goVersion) return undefined;
  const info: GoBuildInfo = { goVersion, path: '', mainModule: '', mainVersion: '', settings: {}, deps: {} };
  for (const line of rest) {
    const [kind, a = '', b = ''] = line.replace(/^\t/, '').split('\t');
    if (kind === 'path') info.path = a;
    else if (kind === 'mod') [info.mainModule, info.mainVersion] = [a, b];
    else if (kind === 'dep') info.deps[a] = b;
    else if (kind === 'build') {
      const eq = a.indexOf('=');
      if (eq > 0) info.settings[a.slice(0, eq)] = unquote(a.slice(eq + 1));
    }
  }
  return info;
}

/** A setting's value as Go prints it: quoted (strconv.Quote) when it holds spaces, as -ldflags does. */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return value;
  }
}

/** Whether `ldflags` sets `name` with `-X name=value` (as BuildKit's version.Version is injected). */
export function ldflagsSet(ldflags: string, name: string, value: string): boolean {
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:^|\\s)-X[\\s=]+${esc(name)}=${esc(value)}(?:\\s|$)`).test(ldflags);
}

/**
 * The extensions each GORISCV64 profile lets the compiler use (Go's cmd/internal/objabi and
 * cmd/compile: rva20u64 is rv64gc; rva22u64 adds Zba, Zbb and Zbs; rva23u64 also the vector extension).
 */
const PROFILE_NEEDS: Record<string, string[]> = {
  rva20u64: ['i', 'm', 'a', 'f', 'd', 'c'],
  rva22u64: ['i', 'm', 'a', 'f', 'd', 'c', 'zba', 'zbb', 'zbs'],
  rva23u64: ['i', 'm', 'a', 'f', 'd', 'c', 'v', 'zba', 'zbb', 'zbs'],
};

/** The extensions an `isa` line of /proc/cpuinfo names (`rv64imafdcv_zba_zbb...`), lower-case. */
export function isaExtensions(isa: string): Set<string> {
  const [base = '', ...multi] = isa.trim().toLowerCase().split('_');
  const single = base.replace(/^rv(32|64)/, '');
  // `g` is imafd (with zicsr and zifencei).
  const letters = single.replace('g', 'imafd').split('');
  return new Set([...letters, ...multi.filter(Boolean)]);
}

/** Why a binary built for `profile` cannot run on a CPU with this `isa`, or undefined when it can. */
export function riscvProfileProblem(profile: string, isa: string): string | undefined {
  const needs = PROFILE_NEEDS[profile];
  if (!needs)
    return `GORISCV64=${profile} is not a profile this check knows (${Object.keys(PROFILE_NEEDS).join(', ')})`;
  const has = isaExtensions(isa);
  const missing = needs.filter((e) => !has.has(e));
  return missing.length
    ? `built with GORISCV64=${profile}, which uses ${missing.join(', ')}; the target's CPU (isa ${isa.trim()}) lacks ${missing.length > 1 ? 'them' : 'it'}`
    : undefined;
}

/** What a release binary of the build script must be: its settings against what the build was asked. */
export function buildInfoProblems(
  info: GoBuildInfo,
  asked: { goarch: string; goVersion?: string; trimpath?: boolean; cgo: boolean; version?: string },
): string[] {
  const s = info.settings;
  const problems: string[] = [];
  if (s.GOOS !== 'linux') problems.push(`GOOS=${s.GOOS ?? 'unset'}, asked linux`);
  if (s.GOARCH !== asked.goarch) problems.push(`GOARCH=${s.GOARCH ?? 'unset'}, asked ${asked.goarch}`);
  if ((s.CGO_ENABLED === '1') !== asked.cgo)
    problems.push(
      `CGO_ENABLED=${s.CGO_ENABLED ?? 'unset'}, asked ${asked.cgo ? '1' : '0'} (a static binary)`,
    );
  if (asked.trimpath !== undefined && (s['-trimpath'] === 'true') !== asked.trimpath)
    problems.push(`-trimpath=${s['-trimpath'] ?? 'false'}, asked ${asked.trimpath}`);
  if (asked.goVersion && info.goVersion !== asked.goVersion)
    problems.push(`built with ${info.goVersion}, the build says ${asked.goVersion}`);
  // What SBOM scanners read a Go binary's version from (syft's default: the -ldflags build setting).
  if (
    asked.version &&
    !ldflagsSet(s['-ldflags'] ?? '', 'github.com/moby/buildkit/version.Version', asked.version)
  )
    problems.push(
      `the build info's -ldflags do not name version.Version=${asked.version}${s['-trimpath'] === 'true' ? ' (-trimpath leaves them out)' : ''}: an SBOM scanner reading it lists github.com/moby/buildkit ${info.mainVersion ?? '(devel)'}`,
    );
  if (info.mainModule !== 'github.com/moby/buildkit')
    problems.push(`main module ${info.mainModule || 'none'}, expected github.com/moby/buildkit`);
  return problems;
}
