import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { resolveDebianIndex } from '../../harness/lab/debian-index.ts';
import { needsTools, testNeeding } from './fixtures/needs.ts';

const missing = needsTools(
  ['gpg', 'gpgv'],
  'signs and verifies the InRelease files of a local archive (Debian: gpg, gpgv)',
);
const test = testNeeding(missing);

/**
 * A local upstream Debian mirror with InRelease files signed by a key made here (real gpg, real gpgv):
 * one name of the release caught mid-sync, others consistent, forged or of another codename.
 */
const ARCHES = ['riscv64', 'amd64', 'arm64'];
let dir: string;
let server: Server;
let mirror: string;
let keyring: string;
const files = new Map<string, Buffer>();

async function gpg(home: string, args: string[], input?: string): Promise<string> {
  const r = await execa('gpg', ['--homedir', home, '--batch', '--yes', ...args], { input });
  return r.stdout;
}

/** A signed InRelease for `name` listing `listed` per arch, and `served` as what the mirror returns. */
async function publish(
  home: string,
  name: string,
  codename: string,
  listed: Record<string, Buffer>,
  served: Record<string, Buffer> = listed,
): Promise<void> {
  const sums = ARCHES.map((a) => {
    const body = listed[a]!;
    const sha = createHash('sha256').update(body).digest('hex');
    return ` ${sha} ${body.length} main/binary-${a}/Packages.xz`;
  });
  const release = [
    'Origin: Debian',
    `Suite: ${name === codename ? 'stable' : name}`,
    `Codename: ${codename}`,
    'Version: 13.8',
    'Date: Sat, 21 Nov 2026 09:15:44 UTC',
    'SHA256:',
    ...sums,
    '',
  ].join('\n');
  files.set(`/debian/dists/${name}/InRelease`, Buffer.from(await gpg(home, ['--clearsign'], release)));
  for (const a of ARCHES) files.set(`/debian/dists/${name}/main/binary-${a}/Packages.xz`, served[a]!);
}

const packages = (tag: string) => Object.fromEntries(ARCHES.map((a) => [a, Buffer.from(`${tag} ${a}\n`)]));

beforeAll(async () => {
  if (missing) return;
  dir = await mkdtemp(join(tmpdir(), 'bka-self-debian-index-'));
  const archive = join(dir, 'archive-gnupg');
  const forger = join(dir, 'forger-gnupg');
  for (const [home, uid] of [
    [archive, 'Lab Archive Key <archive@lab.invalid>'],
    [forger, 'Someone Else <forger@lab.invalid>'],
  ] as const) {
    await execa('mkdir', ['-m', '700', home]);
    await gpg(home, ['--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  }
  keyring = join(dir, 'archive-keyring.gpg');
  // gpg writes the file itself: read from its stdout, execa strips a final newline byte, also from a
  // buffer, and 1 exported key in 256 ends in one (the cause of this file's rare "No public key").
  await gpg(archive, ['--output', keyring, '--export']);
  // The keyring holds the archive key before anything is verified against it (seen once on a fresh
  // machine: every verification said "No public key"; this says where it went wrong).
  const shown = await execa('gpg', ['--batch', '--show-keys', '--with-colons', keyring], {
    reject: false,
    all: true,
  });
  if (!/^uid:.*archive@lab\.invalid/m.test(shown.stdout))
    throw new Error(`the exported archive keyring ${keyring} lacks the archive key:\n${shown.all}`);
  // trixie: 13.8's InRelease with 13.7's riscv64 Packages.xz, as seen on 2026-11-23.
  const old = packages('13.7');
  const fresh = packages('13.8');
  await publish(archive, 'trixie', 'trixie', fresh, { ...fresh, riscv64: old.riscv64! });
  await publish(archive, 'stable', 'trixie', old);
  await publish(archive, 'testing', 'forky', packages('forky'));
  await publish(archive, 'forky', 'forky', packages('forky'));
  await publish(forger, 'forged', 'trixie', old);
  await publish(archive, 'midsync2', 'trixie', fresh, { ...fresh, arm64: Buffer.from('short') });
  server = createServer((req, res) => {
    const body = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
}, 60_000);

afterAll(async () => {
  // Also when the setup failed before the server existed: never a promise nothing settles.
  if (server) await new Promise((r) => server.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the Debian index the lab is provisioned from', () => {
  const resolve = (aliases: string[]) =>
    resolveDebianIndex({ mirror, codename: 'trixie', architectures: ARCHES, keyring, aliases });

  test('is the codename itself when its index is consistent', async () => {
    const index = await resolveDebianIndex({ mirror, codename: 'forky', architectures: ARCHES, keyring });
    expect(index.name).toBe('forky');
    expect(index.reason).toMatch(
      /^dists\/forky \(13\.8, .*\) is signed, Codename forky, Packages.xz of riscv64, amd64, arm64 match$/,
    );
  });

  test('falls back to another name of the release when the codename is caught mid-sync, and says why', async () => {
    const index = await resolve(['stable']);
    expect(index).toMatchObject({ name: 'stable', codename: 'trixie', version: '13.8' });
    expect(index.reason).toMatch(
      /^dists\/stable .* is used because dists\/trixie: main\/binary-riscv64\/Packages.xz is \d+ bytes .*its InRelease says \d+ bytes .*mirror mid-sync/,
    );
  });

  test('never uses an index that is not signed by the archive keyring', async () => {
    const index = await resolve(['forged', 'stable']);
    expect(index.name).toBe('stable');
    expect(index.reason).toMatch(/dists\/forged: InRelease: its signature does not verify/);
  });

  test('never uses another release that answers to an alias', async () => {
    const index = await resolve(['testing', 'stable']);
    expect(index.name).toBe('stable');
    expect(index.reason).toContain('dists/testing: its Codename is forky, not trixie');
  });

  test('fails with one sentence naming every name tried when none is consistent', async () => {
    const err = (await resolve(['midsync2', 'forged', 'missing']).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.message).toMatch(
      /^lab: no name of Debian trixie is consistent on http:\/\/127\.0\.0\.1:\d+\/debian \(/,
    );
    for (const part of [
      'dists/trixie: main/binary-riscv64/Packages.xz',
      'dists/midsync2: main/binary-arm64/Packages.xz is 5 bytes',
      'dists/forged: InRelease: its signature does not verify',
      'dists/missing: InRelease: HTTP 404',
      '--lab-debian-mirror URL',
    ])
      expect(err.message).toContain(part);
  });
});
