/**
 * The container phase's supply-chain verdicts, on what the Dockerfile asks for and on captured output:
 * the packages asked for, the Dockerfile frontend version a BuildKit release records, dpkg's list, and
 * what cosign's answers mean.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { DOCKERFILE } from '../../build/image.ts';
import { dockerfileFrontendVersion, dockerPurl } from '../../helpers/provenance.ts';
import { parseDpkgQuery, requestedDebianPackages } from '../../helpers/sbom.ts';

describe('what the image build asks for', () => {
  test("the packages of the Dockerfile's apt-get install, and nothing from its other commands", () => {
    expect(requestedDebianPackages(readFileSync(DOCKERFILE, 'utf8')).sort()).toEqual(
      [
        'ca-certificates',
        'fuse-overlayfs',
        'git',
        'iptables',
        'openssh-client',
        'pigz',
        'runc',
        'tini',
        'xz-utils',
      ].sort(),
    );
    expect(
      requestedDebianPackages(
        'RUN apt-get update && apt-get install -y --no-install-recommends \\\n  curl jq; rm -rf /x',
      ),
    ).toEqual(['curl', 'jq']);
    expect(requestedDebianPackages('RUN apt-get update')).toEqual([]);
  });

  test('the Dockerfile frontend version a BuildKit records: X.Y.0 for a release, its prerelease, or -dev', () => {
    const src = 'package version\n\nconst version = "1.27"\n';
    expect(dockerfileFrontendVersion(src, 'v0.33.1')).toBe('1.27.0');
    expect(dockerfileFrontendVersion(src, 'v0.34.0-rc1')).toBe('1.27.0-rc1');
    expect(dockerfileFrontendVersion(src, 'v0.33.1-12-gdeadbeef+unknown')).toBe('1.27.0-dev');
    expect(dockerfileFrontendVersion(src, '(devel)')).toBe('1.27.0-dev');
    expect(dockerfileFrontendVersion('package version\n', 'v0.33.1')).toBeUndefined();
  });

  test('an image material as BuildKit names it: name, tag and platform', () => {
    expect(dockerPurl('pkg:docker/debian@trixie-slim?platform=linux%2Friscv64')).toEqual({
      name: 'debian',
      tag: 'trixie-slim',
      platform: 'linux/riscv64',
    });
    expect(dockerPurl('pkg:docker/docker/buildkit-syft-scanner@stable-1')).toEqual({
      name: 'docker/buildkit-syft-scanner',
      tag: 'stable-1',
      platform: undefined,
    });
    expect(dockerPurl('https://example.com/x.tar.gz')).toBeUndefined();
  });

  test("dpkg-query's list: installed packages only, with their versions", () => {
    const out = 'tini\t0.19.0-1+b3\tii \npigz\t2.8-1\tii \nold\t1.0\trc \n';
    expect(parseDpkgQuery(out)).toEqual([
      { name: 'tini', version: '0.19.0-1+b3' },
      { name: 'pigz', version: '2.8-1' },
    ]);
  });
});
