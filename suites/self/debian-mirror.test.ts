import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  aptListsPrefix,
  extractAptSnapshot,
  parsePackages,
  type RunningDebianMirror,
  startDebianMirror,
} from '../../harness/lab/debian-mirror.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { findTool } from '../../harness/target/local-tools.ts';
import { debianMirrorSyncHint } from '../../helpers/errors.ts';
import { needsTools } from './fixtures/needs.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const goodDeb = Buffer.from('!<arch>\ngood package\n');
const tamperedDeb = Buffer.from('!<arch>\nnot what the index says\n');

function stanza(name: string, file: string, body: Buffer): string {
  return [
    `Package: ${name}`,
    'Architecture: riscv64',
    `Filename: ${file}`,
    `Size: ${body.length}`,
    `SHA256: ${sha256(body)}`,
  ].join('\n');
}

const packages = `${[
  stanza('tini', 'pool/main/t/tini/tini_1_riscv64.deb', goodDeb),
  stanza('git', 'pool/main/g/git/git_1_riscv64.deb', goodDeb),
  stanza('gone', 'pool/main/g/gone/gone_1_riscv64.deb', goodDeb),
].join('\n\n')}\n`;

describe("the lab's Debian mirror", () => {
  let dir: string;
  let upstream: Server;
  let upstreamHits: string[];
  let mirror: RunningDebianMirror;
  let base: string;

  beforeAll(async () => {
    dir = await localTempDir('self-debian-mirror');
    const snapshot = join(dir, 'snapshot');
    await mkdir(join(snapshot, 'dists/trixie/main/binary-riscv64'), { recursive: true });
    await writeFile(join(snapshot, 'dists/trixie/InRelease'), 'signed release (stand-in)\n');
    await writeFile(join(snapshot, 'dists/trixie/main/binary-riscv64/Packages'), packages);
    // The upstream mirror: serves tini as indexed, git tampered with, and no longer has 'gone'.
    upstreamHits = [];
    upstream = createServer((req, res) => {
      upstreamHits.push(req.url ?? '');
      if (req.url?.endsWith('tini_1_riscv64.deb')) res.writeHead(200).end(goodDeb);
      else if (req.url?.endsWith('git_1_riscv64.deb')) res.writeHead(200).end(tamperedDeb);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    mirror = await startDebianMirror({
      snapshotDir: snapshot,
      poolDir: join(dir, 'archive'),
      upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/debian/`,
      port: 0,
    });
    base = `http://127.0.0.1:${mirror.port}/debian`;
  });

  afterAll(async () => {
    await mirror?.close();
    // Also when the setup failed before the server existed: never a promise nothing settles.
    if (upstream) await new Promise((r) => upstream.close(r));
  });

  test('serves the pinned index by name and by hash, and nothing else under dists/', async () => {
    const byName = await fetch(`${base}/dists/trixie/main/binary-riscv64/Packages`);
    expect(byName.status).toBe(200);
    expect(await byName.text()).toBe(packages);
    const byHash = await fetch(`${base}/dists/trixie/main/binary-riscv64/by-hash/SHA256/${sha256(packages)}`);
    expect(byHash.status).toBe(200);
    // A compressed form the pinned index lacks: 404, so apt falls back to the uncompressed file.
    expect((await fetch(`${base}/dists/trixie/main/binary-riscv64/Packages.xz`)).status).toBe(404);
    expect((await fetch(`${base}/dists/trixie/main/binary-amd64/Packages`)).status).toBe(404);
    expect((await fetch(`${base}/dists/../../etc/passwd`)).status).toBe(404);
  });

  test('fetches a pool file from upstream once, checked against the pinned SHA256, then keeps it', async () => {
    const url = `${base}/pool/main/t/tini/tini_1_riscv64.deb`;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(goodDeb);
    }
    expect(upstreamHits.filter((u) => u.endsWith('tini_1_riscv64.deb'))).toHaveLength(1);
    expect(existsSync(join(dir, 'archive/pool/main/t/tini/tini_1_riscv64.deb'))).toBe(true);
  });

  test('refuses a pool file whose upstream bytes differ from the pinned index, and keeps nothing', async () => {
    const res = await fetch(`${base}/pool/main/g/git/git_1_riscv64.deb`);
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/git_1_riscv64\.deb: sha256 [0-9a-f]{64} .*the pinned index says/);
    expect(existsSync(join(dir, 'archive/pool/main/g/git/git_1_riscv64.deb'))).toBe(false);
  });

  test('says which pool file upstream no longer has, and 404s one the index never named', async () => {
    const gone = await fetch(`${base}/pool/main/g/gone/gone_1_riscv64.deb`);
    expect(gone.status).toBe(502);
    expect(await gone.text()).toContain('gone_1_riscv64.deb: HTTP 404');
    expect((await fetch(`${base}/pool/main/x/unknown/unknown_1_riscv64.deb`)).status).toBe(404);
  });

  test('reads Filename, Size and SHA256 from every stanza of a Packages file', () => {
    const map = parsePackages(packages);
    expect([...map.keys()]).toHaveLength(3);
    expect(map.get('pool/main/t/tini/tini_1_riscv64.deb')).toEqual({
      sha256: sha256(goodDeb),
      size: goodDeb.length,
    });
  });
});

describe('pinning the apt index from a VM disk', () => {
  const tools = ['mkfs.ext4', 'debugfs'];

  test("copies apt's lists for the mirror and suite out of an ext4 image into the mirror's layout", async (ctx) => {
    const missing = needsTools(tools, 'makes and reads an ext4 image (Debian: e2fsprogs)');
    if (missing) ctx.skip(missing);
    const dir = await localTempDir('self-apt-snapshot');
    const lists = join(dir, 'root/var/lib/apt/lists');
    await mkdir(join(lists, 'partial'), { recursive: true });
    const prefix = aptListsPrefix('http://deb.debian.org/debian/', 'trixie');
    expect(prefix).toBe('deb.debian.org_debian_dists_trixie_');
    await writeFile(join(lists, `${prefix}InRelease`), 'release\n');
    await writeFile(join(lists, `${prefix}main_binary-riscv64_Packages`), packages);
    await writeFile(join(lists, 'other.example_debian_dists_trixie_InRelease'), 'another source\n');
    const disk = join(dir, 'disk.img');
    await execa(findTool('mkfs.ext4') ?? 'mkfs.ext4', ['-q', '-F', '-d', join(dir, 'root'), disk, '16M'], {
      env: { PATH: `${process.env.PATH}:/sbin:/usr/sbin` },
    });
    const out = join(dir, 'snapshot');
    const names = { listedAs: 'trixie', servedAs: 'trixie' };
    await extractAptSnapshot(disk, 'http://deb.debian.org/debian', out, names);
    expect(await readFile(join(out, 'dists/trixie/InRelease'), 'utf8')).toBe('release\n');
    expect(await readFile(join(out, 'dists/trixie/main/binary-riscv64/Packages'), 'utf8')).toBe(packages);
    await expect(
      extractAptSnapshot(disk, 'http://mirror.example/debian', join(dir, 'none'), names),
    ).rejects.toThrow(/has no apt lists for http:\/\/mirror.example\/debian trixie/);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});

describe('a Debian mirror caught mid-sync', () => {
  // Captured 2026-11-23: trixie's 13.8 InRelease with 13.7's riscv64 Packages.xz on the mirror.
  const apt = [
    '10.33 E: Failed to fetch http://deb.debian.org/debian/dists/trixie/main/binary-riscv64/Packages.xz  File has unexpected size (9385284 != 9387120). Mirror sync in progress? [IP: 203.0.113.80 80]',
    '10.33 E: Some index files failed to download. They have been ignored, or old ones used instead.',
  ].join('\n');
  const debootstrap = [
    'W: http://deb.debian.org/debian/dists/trixie/main/binary-riscv64/Packages.gz was corrupt',
    'I: Retrieving Packages ',
    "E: Couldn't download http://deb.debian.org/debian/dists/trixie/main/binary-riscv64/Packages",
  ].join('\n');

  test("is named, with what to do, in apt's and debootstrap's failures, and nowhere else", () => {
    expect(debianMirrorSyncHint(apt, '--debian-mirror')).toMatch(/mid-sync.*--debian-mirror URL/);
    expect(debianMirrorSyncHint(debootstrap, '--lab-debian-mirror')).toMatch(/--lab-debian-mirror URL/);
    expect(debianMirrorSyncHint('E: Unable to locate package tini', '--debian-mirror')).toBeUndefined();
  });
  // Captured 2026-12-01, provisioning the lab's sid-containerd flavour: this network's sid index stopped
  // updating on 2026-10-30.
  test('an expired index is named as one, with the mirror option, not as a sync', () => {
    const expired =
      'E: Release file for http://deb.debian.org/debian/dists/sid/InRelease is expired (invalid since 25d 3h 12min 25s). Updates for this repository will not be applied.';
    expect(debianMirrorSyncHint(expired, '--lab-debian-mirror')).toBe(
      'the Debian mirror serves an expired index (http://deb.debian.org/debian/dists/sid/InRelease, expired 25d 3h 12min 25s ago: its Valid-Until has passed, and apt rightly refuses it); pass --lab-debian-mirror URL for a mirror that updates it',
    );
  });
});
