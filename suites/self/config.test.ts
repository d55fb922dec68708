import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { main, parseArgs } from '../../harness/cli/main.ts';
import { loadConfig, parseTarget } from '../../harness/plan/config.ts';
import { CONFIG_FILE_ENV, FIELDS } from '../../harness/plan/options.ts';
import { RUN_ENV } from '../../harness/plan/run-env.ts';
import { engineRef } from '../../harness/run/run-registry.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { ConfigError } from '../../helpers/errors.ts';
import { SECRET_ENV } from '../../helpers/redact.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('configuration', () => {
  test('parses targets: local, lab, ssh with and without port, IPv6', () => {
    expect(parseTarget('local')).toEqual({ kind: 'local' });
    expect(parseTarget('ssh://runner@board.lan')).toEqual({
      kind: 'ssh',
      user: 'runner',
      host: 'board.lan',
      port: 22,
    });
    expect(parseTarget('ssh://runner@10.0.0.5:2222')).toEqual({
      kind: 'ssh',
      user: 'runner',
      host: '10.0.0.5',
      port: 2222,
    });
    expect(parseTarget('ssh://u@[fe80::1]:22')).toMatchObject({ host: 'fe80::1', port: 22 });
  });

  test('names the field, its origin, what was expected and what was given', () => {
    expect(() => loadConfig({ env: { BKA_TARGET: 'board.lan' } })).toThrow(
      "config: target (from BKA_TARGET) expected 'local', 'lab' or 'ssh://user@host[:port]', got 'board.lan'",
    );
    expect(() => loadConfig({ env: { BKA_LAB_MEMORY: 'lots' } })).toThrow(
      /labMemory \(from BKA_LAB_MEMORY\) expected a whole number from 1024 to 65536, got 'lots'/,
    );
    expect(() => loadConfig({ env: { BKA_PHASES: 'binaries,smoke' } })).toThrow(
      /phase \(from BKA_PHASES\) expected one of binaries, .*got 'smoke'/,
    );
    expect(() => loadConfig({ env: { BKA_LAB_DOCKER: 'sid' } })).toThrow(
      "config: labDocker (from BKA_LAB_DOCKER) expected 'trixie' or 'trixie-containerd' or 'sid-containerd', got 'sid'",
    );
    expect(loadConfig({ env: {} }).lab.docker).toBe('trixie');
    expect(() => loadConfig({ env: { BKA_HOST_KEY_FINGERPRINT: 'abc' } })).toThrow(
      /hostKeyFingerprint .* expected an OpenSSH fingerprint/,
    );
    expect(() => loadConfig({ env: { BKA_TARGET: 'ssh://u@h:70000' } })).toThrow(/a port from 1 to 65535/);
  });

  test('a push registry is a host[:port]; without one, the run starts its own on the target', () => {
    expect(loadConfig({ env: {} }).pushRegistry).toBeUndefined();
    expect(loadConfig({ env: { BKA_PUSH_REGISTRY: 'registry.lan:5000' } }).pushRegistry).toBe(
      'registry.lan:5000',
    );
    expect(() => loadConfig({ env: { BKA_PUSH_REGISTRY: 'http://registry.lan:5000/x' } })).toThrow(
      "config: pushRegistry (from BKA_PUSH_REGISTRY) expected a registry host[:port] such as '127.0.0.1:5000', got 'http://registry.lan:5000/x'",
    );
    const owned = { forBuilders: '172.17.0.3:5000', forEngine: '127.0.0.1:32782', how: 'run-owned' };
    expect(engineRef(owned, '172.17.0.3:5000/bka/seed:run-1')).toBe('127.0.0.1:32782/bka/seed:run-1');
    // Only its own name is rewritten: a registry whose address merely begins the same is not.
    expect(engineRef(owned, '172.17.0.3:50000/bka/seed:run-1')).toBe('172.17.0.3:50000/bka/seed:run-1');
  });

  test('a native amd64 node is an endpoint Buildx reaches; a tcp:// one comes with its mTLS material', () => {
    expect(loadConfig({ env: {} }).amd64Node).toBeUndefined();
    expect(
      loadConfig({
        env: { BKA_AMD64_NODE: 'tcp://x86.lan:1234', BKA_AMD64_NODE_TLS: '/home/runner/node-tls' },
      }).amd64Node,
    ).toEqual({ address: 'tcp://x86.lan:1234', tlsDir: '/home/runner/node-tls' });
    expect(loadConfig({ env: { BKA_AMD64_NODE: 'docker-container://amd64-node' } }).amd64Node).toEqual({
      address: 'docker-container://amd64-node',
    });
    expect(() => loadConfig({ env: { BKA_AMD64_NODE: 'tcp://x86.lan:1234' } })).toThrow(
      /amd64NodeTls \(from default\) expected a directory on the target with ca.pem, cert.pem and key.pem/,
    );
    expect(() => loadConfig({ env: { BKA_AMD64_NODE: 'x86.lan' } })).toThrow(
      /amd64Node \(from BKA_AMD64_NODE\) expected a Buildx remote endpoint.*got 'x86.lan'/,
    );
    expect(() => loadConfig({ env: { BKA_AMD64_NODE_TLS: '/tls' } })).toThrow(
      /amd64NodeTls \(from BKA_AMD64_NODE_TLS\) expected only beside --amd64-node/,
    );
  });

  test('flags win over environment, environment over the config file', async () => {
    const dir = await localTempDir('self-config');
    const file = join(dir, 'c.json');
    await writeFile(
      file,
      JSON.stringify({ target: 'ssh://a@file-host', buildkitRef: 'v0.30.0', labCpus: 4 }),
    );
    const c = loadConfig({
      configFile: file,
      env: { BKA_TARGET: 'ssh://a@env-host' },
      flags: { buildkitRef: 'v0.31.0' },
    });
    expect(c.target).toMatchObject({ host: 'env-host' });
    expect(c.buildkitRef).toBe('v0.31.0');
    expect(c.lab.cpus).toBe(4);
  });

  test('rejects a malformed or unknown-field config file with a sentence', async () => {
    const dir = await localTempDir('self-config');
    await writeFile(join(dir, 'bad.json'), '{ "target": ');
    expect(() => loadConfig({ configFile: join(dir, 'bad.json'), env: {} })).toThrow(/is not valid JSON/);
    await writeFile(join(dir, 'unknown.json'), '{ "tagret": "local" }');
    expect(() => loadConfig({ configFile: join(dir, 'unknown.json'), env: {} })).toThrow(
      /unknown field 'tagret'/,
    );
    expect(() => loadConfig({ configFile: join(dir, 'missing.json'), env: {} })).toThrow(ConfigError);
  });

  test('the CLI parses repeatable phases and rejects unknown options', () => {
    expect(
      parseArgs(['run', '--phase', 'binaries', '--phase=container', '--target', 'local']).flags,
    ).toMatchObject({
      phase: ['binaries', 'container'],
      target: 'local',
    });
    expect(() => parseArgs(['run', '--tagret', 'x'])).toThrow(/unknown option --tagret/);
    expect(() => parseArgs(['run', '--target'])).toThrow(/--target needs a value/);
  });

  test('the CLI exits 2 on bad usage or config and 3 on an unreachable target, fast', async () => {
    expect(await main(['run', '--target', 'nope'])).toBe(2);
    expect(await main(['frobnicate'])).toBe(2);
    // What is timed is the refusal, not the first load of doctor's modules (the CLI loads them on use;
    // seconds on an emulated riscv64).
    await import('../../harness/cli/doctor.ts');
    const t0 = Date.now();
    expect(
      await main(['doctor', '--target', 'ssh://runner@127.0.0.1:1', '--identity-file', '/dev/null']),
    ).toBe(3);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('the environment the suite reads', () => {
  const SOURCES = ['harness', 'build', 'reports', 'automation', 'helpers', 'scripts', 'bin'];
  const sources = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|mts|mjs)$/.test(f))
      .map((f) => join(dir, f));

  test('every BKA_ variable is in the options table or the run-env table, and read only through them', () => {
    const known = new Set<string>([
      ...Object.values(FIELDS).map((f) => f.env),
      ...Object.values(RUN_ENV),
      ...SECRET_ENV,
      CONFIG_FILE_ENV,
    ]);
    const unknown: string[] = [];
    const direct: string[] = [];
    for (const file of SOURCES.flatMap(sources)) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [name] of text.matchAll(/\bBKA_[A-Z0-9_]+\b/g))
        if (!known.has(name)) unknown.push(`${file}: ${name}`);
      if (
        !['harness/plan/options.ts', 'harness/plan/run-env.ts'].includes(file) &&
        /process\.env(\.|\[['"`])BKA_/.test(text)
      )
        direct.push(file);
    }
    expect(unknown, 'BKA_ names in no table').toEqual([]);
    expect(direct, 'modules that read process.env.BKA_* themselves').toEqual([]);
  });
});
