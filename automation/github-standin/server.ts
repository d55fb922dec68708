/**
 * A local GitHub stand-in: a real HTTP server answering the REST operations this project uses, with
 * state, held to GitHub's own API description both ways. A request GitHub would refuse gets GitHub's
 * error shape (422 with `errors`, 404, 401); a response the stand-in is about to send that the
 * description forbids is a bug in the stand-in: it answers 500 and logs why, loudly.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import ajvFormats from 'ajv-formats';
import { type Context, OpenAPIBackend, type Request } from 'openapi-backend';
import { handlers, type Reply } from './handlers.ts';
import { githubApiDescription } from './spec.ts';
import { loadState, type StandinState, saveState } from './state.ts';

const DOCS = 'https://docs.github.com/rest';

export interface StandinOptions {
  stateFile: string;
  host?: string;
  port?: number;
  log?: (line: string) => void;
  /** Self tests only: alters a handler's reply, to show the response validation catches it. */
  tamper?: (operationId: string, reply: Reply) => Reply;
}

export interface RunningStandin {
  url: string;
  /** Every contract violation the stand-in caught in its own responses (should stay empty). */
  violations: string[];
  state(): StandinState;
  close(): Promise<void>;
}

const error = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { message, documentation_url: DOCS, ...extra },
});

function tokenOf(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h ? /^(?:token|bearer)\s+(.+)$/i.exec(h)?.[1]?.trim() : undefined;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for('invalid-json');
  }
}

export async function startGithubStandin(o: StandinOptions): Promise<RunningStandin> {
  const log = o.log ?? (() => {});
  const state = loadState(o.stateFile);
  const violations: string[] = [];
  let base = { api: '', html: 'https://github.com' };

  const api = new OpenAPIBackend({
    definition: githubApiDescription() as never,
    quick: true,
    strict: false,
    validate: true,
    coerceTypes: true,
    ajvOpts: { strict: false, allErrors: false, unicodeRegExp: false },
    customizeAjv: (ajv) => {
      // CommonJS default export: under NodeNext the namespace is typed, the value is the function.
      (ajvFormats as unknown as (a: unknown) => void)(ajv);
      return ajv;
    },
  });
  const wrapped = Object.fromEntries(
    Object.entries(handlers).map(([id, h]) => [
      id,
      (c: Context) => {
        const reply = h({ c, state, base, nextId: () => state.nextId++ });
        if (reply.changed) saveState(o.stateFile, state);
        return o.tamper ? o.tamper(id, reply) : reply;
      },
    ]),
  );
  api.register({
    ...wrapped,
    validationFail: (c: Context): Reply => {
      const errors = (c.validation.errors ?? []).map((e) => ({
        resource: c.operation?.operationId ?? 'request',
        code: 'invalid',
        field: e.instancePath || (e.params as { missingProperty?: string })?.missingProperty || '',
        message: `${e.instancePath || 'request'} ${e.message ?? 'is invalid'}`,
      }));
      return error(422, 'Validation Failed', { errors, status: '422' });
    },
    // GitHub's other operations are not in the stand-in's description (spec.ts): a request for one is
    // told which operations are served.
    notFound: (c: Context): Reply =>
      error(
        404,
        `Not Found (the stand-in serves only ${Object.keys(handlers).join(', ')}; not ${c.request.method.toUpperCase()} ${c.request.path})`,
        {
          status: '404',
        },
      ),
    notImplemented: (c: Context): Reply =>
      error(404, `Not Found (the stand-in does not serve ${c.operation?.operationId})`, { status: '404' }),
    postResponseHandler: (c: Context): Reply => {
      const reply = c.response as Reply;
      if (!c.operation || reply.status >= 400) return reply;
      const declared = Object.keys(c.operation.responses ?? {});
      const problems: string[] = [];
      if (!declared.includes(String(reply.status)))
        problems.push(`status ${reply.status} is not among ${declared.join(', ')}`);
      else if (reply.status === 204 && reply.body !== undefined) problems.push('a 204 must have no body');
      else if (reply.body !== undefined) {
        const v = c.api.validateResponse(reply.body, c.operation, reply.status);
        for (const e of v.errors ?? []) problems.push(`${e.instancePath || 'body'} ${e.message}`);
      }
      if (problems.length === 0) return reply;
      const what = `${c.operation.operationId} ${reply.status}: ${problems.slice(0, 5).join('; ')}`;
      violations.push(what);
      log(`github-standin: CONTRACT VIOLATION in its own response: ${what}`);
      return error(500, `stand-in response violates GitHub's API description: ${what}`);
    },
  });
  await api.init();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', base.api || 'http://localhost');
    const body = await readBody(req);
    let reply: Reply;
    const token = tokenOf(req);
    const repo = /^\/repos\/([^/]+\/[^/]+)/.exec(url.pathname)?.[1];
    if (token !== undefined && !state.tokens.includes(token))
      reply = error(401, 'Bad credentials', { status: '401' });
    else if (body === Symbol.for('invalid-json'))
      reply = error(400, 'Problems parsing JSON', { status: '400' });
    else if (token === undefined && (req.method !== 'GET' || (repo && state.repos[repo]?.private)))
      reply = error(401, 'Requires authentication', { status: '401' });
    else {
      const request: Request = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers as Record<string, string>,
        body,
      };
      reply = (await api.handleRequest(request)) as Reply;
    }
    log(`github-standin: ${req.method} ${url.pathname}${url.search} -> ${reply.status}`);
    const headers: Record<string, string> = {
      'x-github-api-version-selected': '2022-11-28',
      ...(reply.headers ?? {}),
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    const text = JSON.stringify(reply.body);
    res
      .writeHead(reply.status, {
        ...headers,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      })
      .end(text);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log(`github-standin: error: ${err.stack ?? err.message}`);
      if (!res.headersSent)
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"stand-in error"}');
    });
  });
  // An idle keep-alive socket is never dropped while the stand-in lives (close() ends them all): on a
  // saturated emulated riscv64 a CLI's next request can come after any timeout the server keeps, and
  // fetch then reports the dropped socket as a 500 ("other side closed" with Node's 5 s; "read ECONNRESET"
  // with 60 s, in an all-phase board rehearsal with scenarios side by side). Real GitHub's idle timeout is
  // a connection matter, not the API contract this stand-in checks.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  base = { api: `http://${addr.address}:${addr.port}`, html: `http://${addr.address}:${addr.port}/html` };
  return {
    url: base.api,
    violations,
    state: () => state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
