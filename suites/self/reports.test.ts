/**
 * The reports (JUnit, Markdown, JSON) and the verdict model, on sample results and on real vitest runs.
 * Over 250 lines: one concept, the report contract, with its captured inputs.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, test } from 'vitest';
import { FRESH_RUN_ENV } from '../../harness/run/handover.ts';
import { CommandError, makeResult } from '../../helpers/command-result.ts';
import { redact, registerSecret } from '../../helpers/redact.ts';
import { toJUnit } from '../../reports/junit.ts';
import { toMarkdown } from '../../reports/markdown.ts';
import { notImplementedPhase, type RunResults, verdict } from '../../reports/model.ts';
import { firstReceived } from '../../reports/vitest-reporter.ts';

const evidence = new CommandError(
  makeResult({
    argv: ['buildctl', 'debug', 'workers'],
    host: 'runner@127.0.0.1:2322',
    exitCode: 1,
    signal: undefined,
    stdout: '',
    stderr: 'error: failed to connect: dial unix /run/buildkit/buildkitd.sock: no such file',
    durationMs: 1234,
    startedAt: new Date('2026-11-21T10:00:00Z'),
  }),
);

function sample(): RunResults {
  return {
    runId: '20261121-100000-abcdef',
    startedAt: '2026-11-21T10:00:00.000Z',
    durationMs: 65_000,
    properties: {
      'target.arch': 'riscv64',
      'target.host': 'runner@127.0.0.1:2322',
      'run.build': 'cross-compiled (lab)',
    },
    errors: [],
    phases: [
      {
        name: 'binaries',
        durationMs: 60_000,
        tests: [
          {
            name: 'binaries › buildkitd is a static riscv64 ELF',
            file: 'suites/binaries/elf.test.ts',
            state: 'passed',
            durationMs: 20,
            retries: 0,
            flaky: false,
            notes: ['size: 60 MiB'],
          },
          {
            name: 'binaries › buildkitd answers buildctl debug workers',
            file: 'suites/binaries/daemon.test.ts',
            state: 'failed',
            durationMs: 30_000,
            message: evidence.message.split('\n')[0],
            details: evidence.message,
            errorType: 'CommandError',
            retries: 1,
            flaky: false,
            notes: [],
          },
          {
            name: 'binaries › rootless daemon starts',
            file: 'suites/binaries/daemon.test.ts',
            state: 'skipped',
            durationMs: 0,
            skipReason: 'no uidmap on the target',
            retries: 0,
            flaky: false,
            notes: [],
          },
        ],
      },
    ],
  };
}

describe('JUnit report', () => {
  const xml = toJUnit(sample());
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const suites = [doc.testsuites.testsuite].flat();
  const cases = [suites[0].testcase].flat();

  test('is well-formed XML with one testsuite per phase and counts that add up', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(suites.map((s: { name: string }) => s.name)).toEqual(['binaries']);
    expect(suites[0]).toMatchObject({ tests: '3', failures: '0', skipped: '1', errors: '1' });
  });

  test('names read as behaviour and carry the phase as class name', () => {
    expect(cases.map((c: { name: string }) => c.name)).toEqual([
      'binaries › buildkitd is a static riscv64 ELF',
      'binaries › buildkitd answers buildctl debug workers',
      'binaries › rootless daemon starts',
    ]);
    expect(cases.every((c: { classname: string }) => c.classname === 'binaries')).toBe(true);
  });

  test('a failed command is an <error type="CommandError"> with the command evidence in its body and system-err', () => {
    const failed = cases[1];
    expect(failed.error.type).toBe('CommandError');
    expect(failed.error.message).toBe('Command failed with exit code 1: buildctl debug workers');
    expect(failed.error['#text']).toContain('host: runner@127.0.0.1:2322  exit: 1  duration: 1.2s');
    expect(failed['system-err']).toContain('no such file');
  });

  test('keeps the final outcome only, with retries as a property', () => {
    const props = [cases[1].properties.property].flat();
    expect(props).toContainEqual({ name: 'retries', value: '1' });
  });

  test('a skip carries its reason', () => {
    const skipped = cases[2];
    expect(skipped.skipped).toBeDefined();
    expect(skipped['system-out']).toContain('no uidmap on the target');
  });

  test('target facts and run metadata are suite properties, timestamps in UTC', () => {
    const props = [suites[0].properties.property].flat();
    expect(props).toContainEqual({ name: 'target.arch', value: 'riscv64' });
    expect(suites[0].timestamp).toBe('2026-11-21T10:00:00');
  });
});

describe('a failed expectation', () => {
  test('is a <failure type="AssertionError">, apart from a failed command', () => {
    const r = sample();
    r.phases[0]!.tests[1]!.errorType = 'AssertionError';
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(toJUnit(r));
    const failed = [[doc.testsuites.testsuite].flat()[0].testcase].flat()[1];
    expect(failed.failure.type).toBe('AssertionError');
    expect(failed.error).toBeUndefined();
  });
});

describe('Markdown summary', () => {
  test('shows per-phase counts, durations and the first failure evidence', () => {
    const md = toMarkdown(sample());
    expect(md).toContain('## BuildKit on riscv64: FAILED');
    expect(md).toContain('| binaries | FAILED | 1 | 1 | 1 | 1m0s |');
    expect(md).toContain('### First failure: binaries › buildkitd answers buildctl debug workers');
    expect(md).toContain('no such file');
    expect(md).toContain('- binaries › rootless daemon starts: no uidmap on the target');
  });
});

describe('the verdict', () => {
  const only = (state: 'passed' | 'failed' | 'skipped'): RunResults => {
    const r = sample();
    r.phases[0]!.tests = r.phases[0]!.tests.filter((t) => t.state === state);
    return r;
  };

  test('is PASSED only when checks ran and every one passed', () => {
    expect(verdict(only('passed'))).toBe('PASSED');
    expect(verdict(sample())).toBe('FAILED');
  });

  test('is NOT RUN when no check ran, and INCOMPLETE when one was skipped', () => {
    expect(verdict({ ...sample(), phases: [] })).toBe('NOT RUN');
    expect(verdict(only('skipped'))).toBe('NOT RUN');
    const r = sample();
    r.phases[0]!.tests = r.phases[0]!.tests.filter((t) => t.state !== 'failed');
    expect(verdict(r)).toBe('INCOMPLETE');
  });

  test('a phase with no checks is INCOMPLETE, and FAILED when it was asked for by name', () => {
    const r = only('passed');
    r.phases.push(notImplementedPhase('buildx', false));
    expect(verdict(r)).toBe('INCOMPLETE');
    r.phases[1] = notImplementedPhase('buildx', true);
    expect(verdict(r)).toBe('FAILED');
  });

  test('an error outside any check fails the run', () => {
    expect(verdict({ ...only('passed'), errors: ["the run's setup failed: lab: debootstrap failed"] })).toBe(
      'FAILED',
    );
  });
});

describe('redaction', () => {
  const token = `ghp_${'a1B2c3D4e5'.repeat(4)}`;

  test('masks registered secrets and well-known credential shapes', () => {
    registerSecret('s3cr3t-passphrase');
    const text = [
      `token ${token}`,
      'Authorization: Bearer abc.def.ghi',
      'password=hunter22',
      'https://bot:ghs-credential@registry.example/v2/',
      'my passphrase is s3cr3t-passphrase',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const out = redact(text);
    for (const secret of [
      token,
      'abc.def.ghi',
      'hunter22',
      'ghs-credential',
      's3cr3t-passphrase',
      'b3BlbnNzaC1rZXktdjEAAAAA',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('Authorization: Bearer ***');
  });

  test('no secret reaches the command evidence, JUnit, or the summary', () => {
    registerSecret('registry-pass-123');
    const result = makeResult({
      argv: ['docker', 'login', '-u', 'bot', '-p', 'registry-pass-123', 'ghcr.io'],
      host: 'local',
      exitCode: 1,
      signal: undefined,
      stdout: '',
      stderr: `denied for ${token}`,
      durationMs: 5,
      startedAt: new Date(),
    });
    const err = new CommandError(result);
    const results = sample();
    results.phases[0]!.tests[1]!.details = err.message;
    results.phases[0]!.tests[1]!.message = `${err.message.split('\n')[0]} registry-pass-123`;
    const all = [err.message, JSON.stringify(result), toJUnit(results), toMarkdown(results)].join('\n');
    expect(all).not.toContain('registry-pass-123');
    expect(all).not.toContain(token);
  });
});

describe('the vitest reporter, on a real vitest run', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  /** vitest on the report cases (with `-t grep` when given), reporting into `dir`; its results by name. */
  const runCases = async (dir: string, grep?: string) => {
    const run = await execa(
      process.execPath,
      [
        ...[join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...(grep ? ['-t', grep] : [])],
        ...['--config', 'suites/self/fixtures/report-cases/vitest.config.ts'],
      ],
      {
        cwd: root,
        env: { ...FRESH_RUN_ENV, BKA_REPORT_DIR: dir, ...(grep ? { BKA_GREP: grep } : {}) },
        reject: false,
        all: true,
        timeout: 60_000,
      },
    );
    expect(run.exitCode, run.all).toBe(1);
    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResults;
    return new Map(results.phases.flatMap((p) => p.tests).map((t) => [t.name, t]));
  };

  test('with --grep, a selected check whose setup failed is failed, and the others are not selected', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-report-'));
    try {
      const grep = 'image built in beforeAll.*tini';
      const byName = await runCases(dir, grep);
      expect(byName.get('cases › an image built in beforeAll › has tini as PID 1')).toMatchObject({
        state: 'failed',
        message: 'not run: its setup failed: building the image failed: apt-get update exited 100',
      });
      expect(byName.get('cases › an image built in beforeAll › has the right platform')).toMatchObject({
        state: 'skipped',
        skipReason: `not selected (--grep ${grep})`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a failed setup fails the checks it kept from running, with its error, and the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-report-'));
    try {
      const byName = await runCases(dir);
      for (const name of [
        'cases › an image built in beforeAll › has the right platform',
        'cases › an image built in beforeAll › has tini as PID 1',
      ]) {
        expect(byName.get(name)).toMatchObject({
          state: 'failed',
          message: 'not run: its setup failed: building the image failed: apt-get update exited 100',
        });
      }
      expect(byName.get('cases › a phase › its only check')).toMatchObject({
        state: 'failed',
        message: 'not run: its setup failed: the target is unreachable',
      });
      const cleanup = [...byName.values()].find((t) =>
        t.name.startsWith('cases › a group whose cleanup fails › '),
      );
      expect(cleanup).toMatchObject({ state: 'failed', message: 'removing the container failed' });
      expect(byName.get('cases › a group whose cleanup fails › passes on its own')?.state).toBe('passed');
      expect(byName.get('cases › a group that runs › skips with a reason')).toMatchObject({
        state: 'skipped',
        skipReason: 'no uidmap on the target',
      });
      const md = await readFile(join(dir, 'summary.md'), 'utf8');
      expect(md).toContain('## BuildKit on riscv64: FAILED');
      expect(md).not.toContain('no reason given');
      const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
        await readFile(join(dir, 'junit.xml'), 'utf8'),
      );
      const suite = [xml.testsuites.testsuite].flat()[0];
      expect(Number(suite.failures) + Number(suite.errors)).toBe(4);
      expect(suite).toMatchObject({ skipped: '1' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const vitestRun = (config: string, dir: string, env: Record<string, string>) =>
    execa(
      process.execPath,
      [
        join(root, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        `suites/self/fixtures/report-cases/${config}`,
      ],
      {
        cwd: root,
        env: { ...FRESH_RUN_ENV, BKA_REPORT_DIR: dir, BKA_RUN_ID: `self-${config}`, ...env },
        reject: false,
        all: true,
        timeout: 60_000,
      },
    );
  const reports = async (dir: string) => ({
    json: JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as RunResults & { verdict: string },
    md: await readFile(join(dir, 'summary.md'), 'utf8'),
    xml: new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      await readFile(join(dir, 'junit.xml'), 'utf8'),
    ),
  });

  test('a global setup that cannot reach its target makes the run FAILED with its reason, in every report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-report-'));
    try {
      const run = await vitestRun('setup.config.ts', dir, {
        BKA_TARGET: 'ssh://runner@127.0.0.1:1',
        BKA_IDENTITY_FILE: '/nonexistent/id_ed25519',
        BKA_CONNECT_TIMEOUT: '2',
      });
      expect(run.exitCode, run.all).not.toBe(0);
      const { json, md, xml } = await reports(dir);
      expect(json.verdict).toBe('FAILED');
      expect(json.errors[0]).toMatch(/^the run's setup failed: /);
      expect(md).toContain('## BuildKit on riscv64: FAILED');
      expect(md).toContain("the run's setup failed");
      expect(md).not.toContain('PASSED');
      const run0 = [xml.testsuites.testsuite].flat().find((s: { name: string }) => s.name === 'run');
      expect(run0).toMatchObject({ errors: '1' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('each check shows the issue it serves in every report; a check that declares none fails the run, named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-report-'));
    try {
      await vitestRun('undeclared.config.ts', dir, {});
      const r = await reports(dir);
      expect(r.json.verdict).toBe('FAILED');
      expect(r.json.errors).toEqual([
        'binaries › a check that serves no declared issue declares no tracking issue (a tag of issue-207, issue-208, issue-209, issue-210, extended)',
      ]);
      const tests = r.json.phases.flatMap((p: { tests: unknown[] }) => p.tests);
      expect(tests).toContainEqual(
        expect.objectContaining({ name: 'binaries › a check that needs the target', serves: '#207' }),
      );
      expect(r.md).toContain('| #207 | 1 | 0 | 0 |');
      const binaries = [r.xml.testsuites.testsuite]
        .flat()
        .find((s: { name: string }) => s.name === 'binaries');
      const declared = [binaries.testcase]
        .flat()
        .find((c: { name: string }) => c.name === 'binaries › a check that needs the target');
      expect([declared.properties.property].flat()).toContainEqual({ name: 'serves', value: '#207' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a phase that holds no checks is NOT IMPLEMENTED, and fails the run when asked for by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bka-self-report-'));
    try {
      await vitestRun('empty.config.ts', dir, {});
      let r = await reports(dir);
      expect(r.json.verdict).toBe('INCOMPLETE');
      expect(r.md).toContain('| buildx | NOT IMPLEMENTED | 0 | 0 | 1 |');
      await vitestRun('empty.config.ts', dir, { BKA_PHASES_REQUESTED: 'buildx' });
      r = await reports(dir);
      expect(r.json.verdict).toBe('FAILED');
      expect(r.md).toContain('## BuildKit on riscv64: FAILED');
      const buildx = [r.xml.testsuites.testsuite].flat().find((s: { name: string }) => s.name === 'buildx');
      expect(buildx).toMatchObject({ failures: '1' });
      expect([buildx.properties.property].flat()).toContainEqual({
        name: 'phase.verdict',
        value: 'NOT IMPLEMENTED',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a failure's headline names what the assertion received", () => {
  // Captured 2026-12-03: the provenance check's diff (vitest 4.1, uncoloured) when --binaries named another tarball.
  const DIFF = [
    '- Expected',
    '+ Received',
    '',
    '- []',
    '+ [',
    `+   "no material is phase 1's buildkit-v0.33.1.linux-riscv64.tar.gz by its SHA256SUMS entry (sha256:06360cec); the other materials: http://172.17.0.3:5000/v2/bka/x (sha256:d00f483d)",`,
    '+   "a material nobody asked for: http://172.17.0.3:5000/v2/bka/x (sha256:d00f483d)",',
    '+ ]',
  ].join('\n');
  test('the first problem of `toEqual([])`, unquoted; nothing from a diff that received none', () => {
    expect(firstReceived(DIFF)).toBe(
      "no material is phase 1's buildkit-v0.33.1.linux-riscv64.tar.gz by its SHA256SUMS entry (sha256:06360cec); the other materials: http://172.17.0.3:5000/v2/bka/x (sha256:d00f483d)",
    );
    expect(firstReceived('- Expected\n+ Received\n\n- 1\n+ 2')).toBeUndefined();
    expect(firstReceived('')).toBeUndefined();
  });
});
