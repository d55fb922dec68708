/**
 * The lab's Debian mirror: what apt in the VM's containers (the image build's `apt-get`) reaches at
 * http://10.0.2.2:<port>/debian.
 *
 * A Debian mirror is not always consistent: during a sync (a point release, for one) its InRelease can
 * name index files it does not serve yet, and every `apt-get update` against it fails with "File has
 * unexpected size ... Mirror sync in progress?". The lab pins the index apt verified when the VM was
 * provisioned (InRelease, signed by Debian, and the Packages files it lists, from the VM disk's apt
 * lists) and serves only that; `.deb` files come from the upstream mirror's pool on first use, are
 * checked against the pinned index's SHA256 and kept in the lab cache. apt checks the InRelease
 * signature and every hash itself, so nothing this server serves is trusted on its word.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative, sep } from 'node:path';
import { execa } from 'execa';
import { findTool } from '../target/local-tools.ts';

/** Where `apt-get` keeps a source's lists: `deb.debian.org_debian_dists_trixie_InRelease` and so on. */
export function aptListsPrefix(mirror: string, suite: string): string {
  return `${mirror
    .replace(/^[a-z]+:\/\//, '')
    .replace(/\/+$/, '')
    .replace(/\//g, '_')}_dists_${suite}_`;
}

/**
 * Copies the apt lists out of the VM's disk image (ext4, read with debugfs, no mount needed) into a
 * mirror-shaped snapshot dir: `dists/<suite>/InRelease`, `dists/<suite>/main/binary-riscv64/Packages`, ...
 * `listedAs` is the dists/ name apt used on the disk (see debian-index.ts), `servedAs` the name the
 * snapshot is served under (the codename, which is what image builds ask for; apt accepts an InRelease
 * whose Codename matches).
 */
export async function extractAptSnapshot(
  diskImage: string,
  mirror: string,
  outDir: string,
  names: { listedAs: string; servedAs: string },
): Promise<void> {
  const suite = names.servedAs;
  const work = `${outDir}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const r = await execa(
      findTool('debugfs') ?? 'debugfs',
      ['-R', `rdump /var/lib/apt/lists ${work}`, diskImage],
      {
        reject: false,
        all: true,
        timeout: 120_000,
      },
    );
    const listsDir = join(work, 'lists');
    if (r.failed || !existsSync(listsDir)) {
      throw new Error(
        `lab: cannot read apt's lists from ${diskImage} with debugfs (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-3).join(' ')}`,
      );
    }
    const prefix = aptListsPrefix(mirror, names.listedAs);
    let found = 0;
    for (const name of await readdir(listsDir)) {
      if (!name.startsWith(prefix)) continue;
      // main_binary-riscv64_Packages -> main/binary-riscv64/Packages (no part of these names has a '_')
      const dest = join(work, 'snapshot', 'dists', suite, ...name.slice(prefix.length).split('_'));
      await mkdir(dirname(dest), { recursive: true });
      await rename(join(listsDir, name), dest);
      found++;
    }
    const inRelease = join(work, 'snapshot', 'dists', suite, 'InRelease');
    if (!existsSync(inRelease)) {
      throw new Error(
        `lab: the VM disk ${diskImage} has no apt lists for ${mirror} ${suite} (${found} files matched ${prefix}*)`,
      );
    }
    await rm(outDir, { recursive: true, force: true });
    await rename(join(work, 'snapshot'), outDir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

export interface PoolEntry {
  sha256: string;
  size: number;
}

/** Filename -> SHA256 and size, from a Packages file (deb822 stanzas). */
export function parsePackages(text: string): Map<string, PoolEntry> {
  const map = new Map<string, PoolEntry>();
  for (const stanza of text.split(/\n\n+/)) {
    const file = /^Filename: (.+)$/m.exec(stanza)?.[1];
    const sha256 = /^SHA256: ([0-9a-f]{64})$/m.exec(stanza)?.[1];
    const size = /^Size: (\d+)$/m.exec(stanza)?.[1];
    if (file && sha256 && size) map.set(file.trim(), { sha256, size: Number(size) });
  }
  return map;
}

export interface DebianMirrorOptions {
  snapshotDir: string;
  poolDir: string;
  /** The real mirror the pool comes from, e.g. http://deb.debian.org/debian. */
  upstream: string;
  host?: string;
  port: number;
  log?: (line: string) => void;
}

export interface RunningDebianMirror {
  port: number;
  close(): Promise<void>;
}

/** Serves the pinned snapshot under /debian/dists and the verified pool under /debian/pool. */
export async function startDebianMirror(o: DebianMirrorOptions): Promise<RunningDebianMirror> {
  const log = o.log ?? (() => {});
  const dists = new Map<string, string>(); // url path under /debian/ -> file
  for (const file of await filesUnder(o.snapshotDir)) {
    const rel = relative(o.snapshotDir, file).split(sep).join('/');
    dists.set(rel, file);
    // apt asks by hash first when the Release says Acquire-By-Hash: yes.
    dists.set(`${dirname(rel)}/by-hash/SHA256/${await sha256File(file)}`, file);
  }
  const pool = new Map<string, PoolEntry>();
  for (const [rel, file] of dists) {
    if (/\/Packages$/.test(rel) && !rel.includes('/by-hash/')) {
      for (const [k, v] of parsePackages(await readFile(file, 'utf8'))) pool.set(k, v);
    }
  }
  const fetching = new Map<string, Promise<void>>();

  const fetchIntoPool = async (rel: string, entry: PoolEntry): Promise<void> => {
    const dest = join(o.poolDir, rel);
    const url = `${o.upstream.replace(/\/+$/, '')}/${rel}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10 * 60_000) });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(body).digest('hex');
    if (sha !== entry.sha256 || body.length !== entry.size) {
      throw new Error(
        `${url}: sha256 ${sha} (${body.length} bytes), the pinned index says ${entry.sha256} (${entry.size} bytes)`,
      );
    }
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(`${dest}.partial`, body);
    await rename(`${dest}.partial`, dest);
  };

  const sendFile = async (req: IncomingMessage, res: ServerResponse, file: string, type: string) => {
    const st = await stat(file);
    res.writeHead(200, { 'content-type': type, 'content-length': st.size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://lab').pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/_lab/snapshot') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${o.snapshotDir}\n`);
      return;
    }
    const rel = path.replace(/^\/debian\//, '');
    if (rel === path || rel.split('/').includes('..')) {
      res.writeHead(404).end();
      return;
    }
    const snap = dists.get(rel);
    if (snap) return sendFile(req, res, snap, 'application/octet-stream');
    if (rel.startsWith('dists/')) {
      // Not in the pinned index (a compressed variant, another architecture): apt tries the next form.
      res.writeHead(404).end();
      return;
    }
    const entry = pool.get(rel);
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    const file = join(o.poolDir, rel);
    if (!existsSync(file)) {
      let p = fetching.get(rel);
      if (!p) {
        p = fetchIntoPool(rel, entry).finally(() => fetching.delete(rel));
        fetching.set(rel, p);
      }
      try {
        await p;
      } catch (err) {
        log(`pool: ${(err as Error).message}`);
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
        return;
      }
    }
    return sendFile(req, res, file, 'application/vnd.debian.binary-package');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`error: ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', () => resolve());
  });
  log(`serving ${o.snapshotDir} (${pool.size} packages) on ${o.host ?? '127.0.0.1'}:${o.port}`);
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
