/**
 * The Sigstore stand-in: GitHub Actions' token issuer, Fulcio, a CT log and Rekor in one local HTTP
 * server (Fulcio and Rekor paths do not overlap), with the trust material cosign is given instead of
 * Sigstore's TUF root: `SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`, `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`.
 * Every refusal is kept, to be shown when cosign fails. `stop()` is idempotent.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActionsOidc, type WorkflowRun } from './actions-oidc.ts';
import { CtLog } from './ct-log.ts';
import { FulcioStandin } from './fulcio.ts';
import { RekorStandin } from './rekor.ts';
import type { StandinResponse } from './response.ts';

export interface SigstoreTrust {
  /** PEM of the Fulcio root. */
  fulcioRoot: string;
  /** PEM of Rekor's public key. */
  rekorKey: string;
  /** PEM of the CT log's public key. */
  ctLogKey: string;
}

const MAX_BODY = 1 << 20;
/** The untrusted Fulcio's base path: `${url}${UNTRUSTED}` is its Fulcio URL. */
export const UNTRUSTED = '/untrusted-ca';
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('request body over 1 MiB'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

export class SigstoreStandin implements AsyncDisposable {
  private readonly oidc = new ActionsOidc();
  private readonly ct = new CtLog();
  private readonly fulcio = new FulcioStandin(this.oidc, this.ct);
  /** A second Fulcio with a root nobody is given (its certificates are logged like any other). */
  private readonly untrustedFulcio = new FulcioStandin(this.oidc, this.ct, 'sigstore stand-in (untrusted)');
  private readonly rekor = new RekorStandin();
  /** `METHOD path -> status: why`, for each request refused. */
  readonly refusals: string[] = [];
  private server: Server | undefined = createServer((req, res) => {
    this.handle(req).then(
      (r) => res.writeHead(r.status, r.headers).end(r.body),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(e.message),
    );
  });
  /** The port it listens on (127.0.0.1). */
  port = 0;

  private constructor() {}

  /** Listens on 127.0.0.1 (an ephemeral port). */
  static async start(): Promise<SigstoreStandin> {
    const s = new SigstoreStandin();
    const server = s.server as Server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  trust(): SigstoreTrust {
    return {
      fulcioRoot: this.fulcio.rootPem,
      rekorKey: this.rekor.publicKeyPem,
      ctLogKey: this.ct.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  }

  /** An ID token from the stand-in Actions issuer for `run` (audience `sigstore`, as cosign asks). */
  token(run: WorkflowRun, audience = 'sigstore'): string {
    return this.oidc.mint(run, audience);
  }

  private async handle(req: IncomingMessage): Promise<StandinResponse> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = `${req.method} ${path}`;
    const body = req.method === 'POST' ? await readBody(req) : '';
    const r = this.route(route, req.headers.authorization, body);
    if (r.status >= 400) this.refusals.push(`${route} -> ${r.status}: ${r.body}`);
    return r;
  }

  private route(route: string, authorization: string | undefined, body: string): StandinResponse {
    const text = (s: string, type: string): StandinResponse => ({
      status: 200,
      headers: { 'content-type': type },
      body: s,
    });
    switch (route) {
      case 'POST /api/v1/signingCert':
        return this.fulcio.signingCert(authorization, body);
      case `POST ${UNTRUSTED}/api/v1/signingCert`:
        return this.untrustedFulcio.signingCert(authorization, body);
      case 'GET /api/v1/rootCert':
        return text(this.fulcio.rootPem, 'application/pem-certificate-chain');
      case 'POST /api/v1/log/entries':
        return this.rekor.createEntry(body);
      case 'POST /api/v1/log/entries/retrieve':
        return this.rekor.retrieve(body);
      case 'GET /api/v1/log/publicKey':
        return text(this.rekor.publicKeyPem, 'application/x-pem-file');
      default:
        return {
          status: 404,
          headers: { 'content-type': 'application/json' },
          body: `{"code":404,"message":"${route} is not served by the stand-in"}`,
        };
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
