/** A binary's Go build facts (`go version -m`), and whether its RISC-V profile runs on a CPU. */
import { describe, expect, test } from 'vitest';
import {
  buildInfoProblems,
  isaExtensions,
  parseGoBuildInfo,
  riscvProfileProblem,
} from '../../helpers/go-buildinfo.ts';

/** `go version -m bin/buildctl` of the build script's v0.33.1 riscv64 build (deps cut), 2026-12-02. */
const CAPTURED = `/opt/buildkit/bin/buildctl: go1.26.8
	path	github.com/moby/buildkit/cmd/buildctl
	mod	github.com/moby/buildkit	(devel)	
	dep	github.com/cenkalti/backoff/v5	v5.0.3	h1:ZN+IMa753KfX5hd8vVaMixjnqRZ3y8CuJKRKj1xcsSM=
	dep	github.com/cespare/xxhash/v2	v2.3.0	h1:UL815xU9SqsFlibzuggzjXhog7bL6oX9BbNZnL2UFvs=
	build	-buildmode=exe
	build	-compiler=gc
	build	-ldflags="-s -w -buildid= -X github.com/moby/buildkit/version.Version=v0.33.1 -X github.com/moby/buildkit/version.Revision=h1:UUrdifmRdRadykO+f5l8BT1CseUXst2sJHV7AmkjjxE= -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit"
	build	CGO_ENABLED=0
	build	GOARCH=riscv64
	build	GOOS=linux
	build	GORISCV64=rva20u64
`;

/** The same build as the script made it before 2026-12-02, with -trimpath (deps cut), 2026-11-30. */
const CAPTURED_TRIMPATH = `/opt/buildkit/bin/buildctl: go1.26.8
	path	github.com/moby/buildkit/cmd/buildctl
	mod	github.com/moby/buildkit	(devel)	
	dep	github.com/cenkalti/backoff/v5	v5.0.3	h1:ZN+IMa753KfX5hd8vVaMixjnqRZ3y8CuJKRKj1xcsSM=
	build	-buildmode=exe
	build	-compiler=gc
	build	-trimpath=true
	build	CGO_ENABLED=0
	build	GOARCH=riscv64
	build	GOOS=linux
	build	GORISCV64=rva20u64
`;

const asked = { goarch: 'riscv64', goVersion: 'go1.26.8', trimpath: false, cgo: false, version: 'v0.33.1' };

describe('Go build facts', () => {
  test("the build script's riscv64 buildctl: Go version, module and settings, as asked", () => {
    const info = parseGoBuildInfo(CAPTURED)!;
    expect(info.goVersion).toBe('go1.26.8');
    expect(info.path).toBe('github.com/moby/buildkit/cmd/buildctl');
    expect(info.mainModule).toBe('github.com/moby/buildkit');
    expect(info.settings).toMatchObject({ CGO_ENABLED: '0', GOARCH: 'riscv64', GORISCV64: 'rva20u64' });
    expect(buildInfoProblems(info, asked)).toEqual([]);
  });

  test('a cgo build, another GOARCH or Go, or another injected version each name the setting', () => {
    const broken = CAPTURED.replace('CGO_ENABLED=0', 'CGO_ENABLED=1')
      .replace('GOARCH=riscv64', 'GOARCH=arm64')
      .replace(': go1.26.8', ': go1.24.4')
      .replace('version.Version=v0.33.1', 'version.Version=v0.33.10');
    expect(buildInfoProblems(parseGoBuildInfo(broken)!, asked)).toEqual([
      'GOARCH=arm64, asked riscv64',
      'CGO_ENABLED=1, asked 0 (a static binary)',
      'built with go1.24.4, the build says go1.26.8',
      "the build info's -ldflags do not name version.Version=v0.33.1: an SBOM scanner reading it lists github.com/moby/buildkit (devel)",
    ]);
    expect(
      parseGoBuildInfo('/opt/x: could not read Go build info from /opt/x: not a Go executable'),
    ).toBeUndefined();
  });

  test('a -trimpath build keeps no -ldflags in its build info: the version SBOM scanners read is named missing', () => {
    expect(buildInfoProblems(parseGoBuildInfo(CAPTURED_TRIMPATH)!, asked)).toEqual([
      '-trimpath=true, asked false',
      "the build info's -ldflags do not name version.Version=v0.33.1 (-trimpath leaves them out): an SBOM scanner reading it lists github.com/moby/buildkit (devel)",
    ]);
    // A build without version injection (the phase's broken artefact) is named the same way.
    const noVersion = CAPTURED.replace(/ -X github\.com\/moby\/buildkit\/version\.Version=\S+/, '');
    expect(buildInfoProblems(parseGoBuildInfo(noVersion)!, asked)).toEqual([
      "the build info's -ldflags do not name version.Version=v0.33.1: an SBOM scanner reading it lists github.com/moby/buildkit (devel)",
    ]);
  });

  test('a RISC-V profile runs on a CPU that has its extensions, and names the ones missing', () => {
    // An rv64gc core as the board's, and one with Zba/Zbb/Zbs and vectors (an isa line as Linux prints it).
    const rv64gc = 'rv64imafdc';
    const rva23 = 'rv64imafdcv_zicbom_zicntr_zicsr_zifencei_zihpm_zba_zbb_zbc_zbs_sstc';
    expect([...isaExtensions('rv64gc_zba')].sort()).toEqual(['a', 'c', 'd', 'f', 'i', 'm', 'zba']);
    expect(riscvProfileProblem('rva20u64', rv64gc)).toBeUndefined();
    expect(riscvProfileProblem('rva23u64', rva23)).toBeUndefined();
    expect(riscvProfileProblem('rva22u64', rv64gc)).toBe(
      "built with GORISCV64=rva22u64, which uses zba, zbb, zbs; the target's CPU (isa rv64imafdc) lacks them",
    );
    expect(riscvProfileProblem('rva23u64', 'rv64imafdc_zba_zbb_zbs')).toMatch(/uses v;.*lacks it$/);
    expect(riscvProfileProblem('rva99u64', rv64gc)).toMatch(/not a profile this check knows/);
  });
});
