/**
 * A real HTTP proxy (Debian's tinyproxy) on the machine running the suite, for checks that BuildKit
 * passes HTTP_PROXY to RUN steps; and a small origin server behind it that records each request it
 * gets, with the proxy's `Via` header. Both listen on 127.0.0.1 (the lab's VM reaches them at
 * 10.0.2.2). The proxy runs in its own process group, registered for killing at creation; stop() is
 * idempotent.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { pollUntil } from '../../helpers/poll.ts';
import { freeLoopbackPort, listenLoopback } from './local-port.ts';
import { localTempDir } from './local-temp.ts';
import { killTree, trackProcessGroup } from './process-tree.ts';

export interface OriginRequest {
  url: string;
  headers: IncomingHttpHeaders;
}

/** Debian's tinyproxy, which scripts/setup.sh installs. */
export const TINYPROXY = '/usr/bin/tinyproxy';

export class HttpProxy implements AsyncDisposable {
  private stopped: Promise<void> | undefined;

  private constructor(
    /** What reached the origin server, oldest first. */
    readonly requests: OriginRequest[],
    readonly port: number,
    readonly originPort: number,
    private readonly logFile: string,
    private readonly pid: number,
    private readonly untrack: () => void,
    private readonly origin: Server,
  ) {}

  /**
   * `listen`: where the proxy listens (127.0.0.1 by default); `allow`: who may use it besides 127.0.0.1
   * (a CIDR, such as the Docker bridge's subnet when builders reach it at the bridge's gateway).
   */
  static async start(
    binary = TINYPROXY,
    { listen = '127.0.0.1', allow = [] as string[] } = {},
  ): Promise<HttpProxy> {
    const dir = await localTempDir('http-proxy');
    const requests: OriginRequest[] = [];
    const origin = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('origin says hello\n');
    });
    const originPort = await listenLoopback(origin);
    const port = await freeLoopbackPort();
    const logFile = join(dir, 'tinyproxy.log');
    const conf = join(dir, 'tinyproxy.conf');
    await writeFile(
      conf,
      [
        `Port ${port}`,
        `Listen ${listen}`,
        'Timeout 60',
        `LogFile "${logFile}"`,
        'LogLevel Info',
        'MaxClients 20',
        'Allow 127.0.0.1',
        ...allow.map((a) => `Allow ${a}`),
        'ViaProxyName "bka-proxy"',
        '',
      ].join('\n'),
    );
    const child = spawn(binary, ['-d', '-c', conf], { detached: true, stdio: 'ignore' });
    const failed = new Promise<never>((_, reject) =>
      child.once('error', (e) =>
        reject(new Error(`starting ${binary}: ${e.message} (scripts/setup.sh installs tinyproxy)`)),
      ),
    );
    const untrack = trackProcessGroup(child);
    const proxy = new HttpProxy(requests, port, originPort, logFile, child.pid ?? -1, untrack, origin);
    try {
      await Promise.race([
        failed,
        pollUntil(async () => ((await proxy.log()).includes('Accepting connections') ? true : undefined), {
          timeoutMs: 15_000,
          intervalMs: 200,
          what: `tinyproxy to accept connections on ${listen}:${port}`,
        }),
      ]);
    } catch (e) {
      await proxy.stop();
      throw e;
    }
    return proxy;
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.pid > 0) killTree(this.pid);
      this.untrack();
      await new Promise((r) => this.origin.close(r));
    })();
    return this.stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
