/**
 * The container phase's supply-chain verdicts, on what the Dockerfile asks for and on captured output:
 * the packages asked for, the Dockerfile frontend version a BuildKit release records, dpkg's list, and
 * what cosign's answers mean.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { DOCKERFILE } from '../../build/image.ts';
import { attestationProblems } from '../../helpers/attestations.ts';
import {
  dockerfileFrontendVersion,
  dockerPurl,
  provenanceFacts,
  provenanceProblems,
  SLSA_V1,
} from '../../helpers/provenance.ts';
import {
  parseDpkgQuery,
  requestedDebianPackages,
  SPDX_PREDICATE,
  sbomPackages,
  sbomProblems,
} from '../../helpers/sbom.ts';
import { signatureVerdict } from '../../helpers/signature-verdict.ts';
import { zipEntry } from '../../helpers/zip-entry.ts';

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

describe("what cosign verify's answer means", () => {
  const d1 = `sha256:${'1'.repeat(64)}`;
  const d2 = `sha256:${'2'.repeat(64)}`;
  const failed = (stderr: string) => ({ exitCode: 1, stdout: '', stderr });
  test('verified only when it passed for the digest that was signed', () => {
    expect(
      signatureVerdict({ exitCode: 0, stdout: '[{"critical":{}}]', stderr: '' }, { signed: d1, resolved: d1 })
        .why,
    ).toBe('verified');
  });
  test('a tag that resolves to another digest is re-pointed, whatever cosign said', () => {
    const v = signatureVerdict({ exitCode: 0, stdout: '', stderr: '' }, { signed: d1, resolved: d2 });
    expect(v).toMatchObject({ verified: false, why: 're-pointed tag' });
  });
  test('no signature, and a signature from another key, each named', () => {
    expect(signatureVerdict(failed('Error: no signatures found'), { signed: d1, resolved: d1 }).why).toBe(
      'unsigned',
    );
    expect(
      signatureVerdict(
        failed('Error: no matching signatures: invalid signature when validating ASN.1 encoded signature'),
        {
          signed: d1,
          resolved: d1,
        },
      ).why,
    ).toBe('another key');
    expect(signatureVerdict(failed('Error: connection refused'), { signed: d1, resolved: d1 }).why).toBe(
      'unreadable',
    );
  });
  // cosign 2.5.0 on the lab (riscv64), verifying keyless signatures made through the Sigstore stand-in.
  test('keyless: a certificate for another workflow, from an untrusted authority, and no log entry, each named', () => {
    const keyless = {
      'another identity':
        'Error: no matching signatures: none of the expected identities matched what was in the certificate, got subjects [https://github.com/example/buildkit-riscv64/.github/workflows/release-tracker.yml@refs/heads/main] with issuer https://token.actions.githubusercontent.com',
      'untrusted certificate':
        'Error: no matching signatures: cert verification failed: x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "sigstore stand-in"). Check your TUF root (see cosign initialize) or set a custom root with env var SIGSTORE_ROOT_FILE',
      'no log entry': 'Error: no matching signatures: signature not found in transparency log',
    };
    for (const [why, stderr] of Object.entries(keyless))
      expect(signatureVerdict(failed(stderr), { signed: d1, resolved: d1 }).why, stderr).toBe(why);
  });
});

/**
 * Captured from the lab: `build-image --push` of BuildKit v0.33.1 (the image's own BuildKit publishing it
 * with provenance and an SBOM), read back from the lab registry; the SBOMs cut to their Debian packages
 * and github.com/moby/buildkit; dpkg-query run in the image (the same 134 packages both days).
 * - provenance.json, sbom-r2.spdx.json: 2026-12-03, phase 1's output `-r2` (no -trimpath), its tarball
 *   fetched over HTTP from the run's registry by its SHA256SUMS entry (`BINARIES_SOURCE=http`).
 * - sbom.spdx.json: 2026-12-02, phase 1 then built with -trimpath (a broken artefact now).
 */
const CAPTURED = fileURLToPath(new URL('./fixtures/supply-chain/', import.meta.url));
const captured = (f: string) => readFileSync(join(CAPTURED, f), 'utf8');
const PROVENANCE = JSON.parse(captured('provenance.json')) as Record<string, unknown>;
const SBOM = JSON.parse(captured('sbom.spdx.json')) as Record<string, unknown>;
const SBOM_R2 = JSON.parse(captured('sbom-r2.spdx.json')) as Record<string, unknown>;
const INSTALLED = parseDpkgQuery(captured('dpkg-query.txt'));
const DEBIAN = `sha256:98619b9dbcc8536d0c7de281f908031574b526e4566819afd886a304b9bd8532`;
/** What build-image asked for: the Dockerfile sent, BuildKit v0.33.1 (frontend 1.27), debian:trixie-slim, phase 1's tarball. */
const ASKED = {
  frontend: 'dockerfile.v0',
  platform: 'linux/riscv64',
  dockerfileSha256: createHash('sha256').update(readFileSync(DOCKERFILE)).digest('hex'),
  dockerfileVersion: '1.27.0',
  base: { name: 'debian', tag: 'trixie-slim', digests: [`sha256:${'0'.repeat(64)}`, DEBIAN] },
  generator: { name: 'docker/buildkit-syft-scanner', tag: 'stable-1' },
  // That day's phase 1 output's SHA256SUMS entry for its tarball.
  binaries: {
    tarball: 'buildkit-v0.33.1.linux-riscv64.tar.gz',
    sha256: 'd00f483dde2cae645dc6c6817f9c8d94fa58a637e44edd0777c34d2faf78df72',
  },
};
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('the provenance of the published image', () => {
  test('the captured one agrees with what was asked for', () => {
    expect(provenanceProblems(provenanceFacts(PROVENANCE), ASKED)).toEqual([]);
  });
  test('materials that name another base image are named', () => {
    const p = clone(PROVENANCE) as {
      predicate: {
        buildDefinition: { resolvedDependencies: Array<{ uri: string; digest: { sha256: string } }> };
      };
    };
    const deps = p.predicate.buildDefinition.resolvedDependencies;
    deps.find((d) => d.uri.includes('debian'))!.uri =
      'pkg:docker/debian@bookworm-slim?platform=linux%2Friscv64';
    const problems = provenanceProblems(provenanceFacts(p as unknown as Record<string, unknown>), ASKED);
    expect(problems.join('\n')).toMatch(/no material is debian:trixie-slim/);
    expect(problems.join('\n')).toMatch(/nobody asked for: pkg:docker\/debian@bookworm-slim/);
  });
  test("phase 1's tarball is a material by its SHA256SUMS entry; another tarball, an image built from the context, or a material nobody asked for: each named", () => {
    type Deps = { predicate: { buildDefinition: { resolvedDependencies: Array<Record<string, unknown>> } } };
    const facts = (edit: (deps: Array<Record<string, unknown>>) => Array<Record<string, unknown>>) => {
      const p = clone(PROVENANCE) as Deps;
      p.predicate.buildDefinition.resolvedDependencies = edit(
        p.predicate.buildDefinition.resolvedDependencies,
      );
      return provenanceFacts(p as unknown as Record<string, unknown>);
    };
    // SHA256SUMS of another phase 1 output (the tarball rebuilt with one more file in it).
    const other = {
      ...ASKED,
      binaries: {
        ...ASKED.binaries,
        sha256: '06360ceca76cfa66aca8551a50804a8252d1cbbb6806e7f96dee8b5112d10647',
      },
    };
    const another = provenanceProblems(provenanceFacts(PROVENANCE), other).join('\n');
    expect(another).toMatch(
      /no material is phase 1's buildkit-v0.33.1.linux-riscv64.tar.gz .*sha256:06360cec/,
    );
    expect(another).toMatch(
      /nobody asked for: http:\/\/172.17.0.3:5000\/v2\/bka\/buildkit-v0.33.1.*sha256:d00f483d/,
    );
    // Built from the context (BINARIES_SOURCE=context): the tarball is no material at all.
    const fromContext = facts((deps) => deps.filter((d) => String(d.uri).startsWith('pkg:docker/')));
    expect(provenanceProblems(fromContext, ASKED)).toEqual([
      expect.stringMatching(/no material is phase 1's .*sha256:d00f483d.*the other materials: none$/),
    ]);
    const extra = facts((deps) => [
      ...deps,
      { uri: 'https://example.org/x.tar.gz', digest: { sha256: 'b'.repeat(64) } },
    ]);
    expect(provenanceProblems(extra, ASKED)).toEqual([
      `a material nobody asked for: https://example.org/x.tar.gz (sha256:${'b'.repeat(64)})`,
    ]);
  });
  test('a base image at a digest the registry does not serve is named', () => {
    const problems = provenanceProblems(provenanceFacts(PROVENANCE), {
      ...ASKED,
      base: { ...ASKED.base, digests: [`sha256:${'9'.repeat(64)}`] },
    });
    expect(problems.join('\n')).toMatch(
      /recorded as sha256:98619b9d.*the registry serves debian:trixie-slim as sha256:9999/,
    );
  });
  test('another BuildKit (another Dockerfile frontend), another Dockerfile, mode=min: each named', () => {
    expect(
      provenanceProblems(provenanceFacts(PROVENANCE), { ...ASKED, dockerfileVersion: '1.19.0' })[0],
    ).toMatch(/frontend is 1.27.0, not 1.19.0.*another BuildKit built it/);
    expect(
      provenanceProblems(provenanceFacts(PROVENANCE), { ...ASKED, dockerfileSha256: '0'.repeat(64) })[0],
    ).toMatch(/recorded Dockerfile is sha256:/);
    const min = clone(PROVENANCE) as { predicate: { runDetails: { metadata: Record<string, unknown> } } };
    delete min.predicate.runDetails.metadata.buildkit_metadata;
    delete min.predicate.runDetails.metadata.buildkit_completeness;
    expect(
      provenanceProblems(provenanceFacts(min as unknown as Record<string, unknown>), ASKED).join('\n'),
    ).toMatch(/not mode=max/);
  });
});

describe('the SBOM of the published image', () => {
  const want = {
    installed: INSTALLED,
    requested: requestedDebianPackages(readFileSync(DOCKERFILE, 'utf8')),
    goModule: {
      path: 'github.com/moby/buildkit',
      version: 'v0.33.1',
      binaries: ['/usr/local/bin/buildkitd', '/usr/local/bin/buildctl'],
    },
  };
  test("lists every package dpkg lists, with its version; a scanner that reads only the build info names BuildKit's binaries UNKNOWN", () => {
    expect(INSTALLED.length).toBe(134);
    // Captured when phase 1 built with -trimpath: Go then records no -ldflags in the build info, and
    // syft's default (Docker Hub's scanner) reads the version only from them (phase 1 now builds without).
    expect(sbomProblems(sbomPackages(SBOM), want)).toEqual([
      '/usr/local/bin/buildkitd is listed as github.com/moby/buildkit UNKNOWN, not v0.33.1',
      '/usr/local/bin/buildctl is listed as github.com/moby/buildkit UNKNOWN, not v0.33.1',
    ]);
  });
  test('built without -trimpath (phase 1 now), the SBOM syft made with its defaults agrees: every package, and buildkitd and buildctl at v0.33.1', () => {
    expect(sbomProblems(sbomPackages(SBOM_R2), want)).toEqual([]);
  });
  test('with the version read from the binaries, it agrees; a package the image holds but the SBOM misses is named', () => {
    const fixed = clone(SBOM) as {
      packages: Array<{
        name: string;
        versionInfo: string;
        externalRefs: Array<{ referenceLocator: string }>;
      }>;
    };
    for (const p of fixed.packages.filter((p) => p.name === 'github.com/moby/buildkit')) {
      p.versionInfo = 'v0.33.1';
      p.externalRefs[0]!.referenceLocator = 'pkg:golang/github.com/moby/buildkit@v0.33.1';
    }
    expect(sbomProblems(sbomPackages(fixed as unknown as Record<string, unknown>), want)).toEqual([]);
    fixed.packages = fixed.packages.filter((p) => p.name !== 'pigz');
    expect(sbomProblems(sbomPackages(fixed as unknown as Record<string, unknown>), want)).toEqual([
      'pigz 2.8-1+b1 (installed) is not in the SBOM',
    ]);
  });
});

describe('what a pushed image carries', () => {
  const image = `sha256:e3c6cefca36c4173525ea99e96e541b19ca1c87cc1821df17548fe2b876a5ad5`;
  const types = [SLSA_V1, SPDX_PREDICATE];
  test('the captured image: both statements, each naming it', () => {
    const statements = [
      { predicateType: SLSA_V1, statement: PROVENANCE },
      { predicateType: SPDX_PREDICATE, statement: { subject: PROVENANCE.subject, predicate: SBOM } },
    ];
    expect(
      attestationProblems([{ platform: 'linux/riscv64', digest: image, statements }], 'linux/riscv64', types),
    ).toEqual([]);
  });
  test('an image pushed without attestations, and a single manifest, are named', () => {
    expect(
      attestationProblems(
        [{ platform: 'linux/riscv64', digest: image, statements: [] }],
        'linux/riscv64',
        types,
      ),
    ).toEqual([
      `no ${SLSA_V1} statement is attached to the linux/riscv64 image`,
      `no ${SPDX_PREDICATE} statement is attached to the linux/riscv64 image`,
    ]);
    expect(
      attestationProblems(
        [{ platform: 'single manifest', digest: image, statements: [] }],
        'linux/riscv64',
        types,
      ),
    ).toEqual(['no linux/riscv64 image in it (single manifest)']);
  });
});

describe('a file out of a Go module zip', () => {
  const zip = readFileSync(join(CAPTURED, 'module.zip'));
  test('stored and deflated entries by path; a missing one is undefined; not a zip is an error', () => {
    expect(zipEntry(zip, 'example.com/m@v1.2.3/go.mod')?.toString()).toBe('module example.com/m\n');
    expect(
      zipEntry(zip, 'example.com/m@v1.2.3/frontend/dockerfile/version/version.go')?.toString(),
    ).toContain('const version = "1.27"');
    expect(zipEntry(zip, 'example.com/m@v1.2.3/nothing.go')).toBeUndefined();
    expect(() => zipEntry(Buffer.from('not a zip at all, just text long enough to scan'), 'x')).toThrow(
      /not a zip/,
    );
  });
});
