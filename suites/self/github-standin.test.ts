import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { handlers, type Reply } from '../../automation/github-standin/handlers.ts';
import { type RunningStandin, startGithubStandin } from '../../automation/github-standin/server.ts';
import {
  SUBSET_FILE,
  type Subset,
  sliceDescription,
  unresolvedRefs,
} from '../../automation/github-standin/subset.ts';

/** The GitHub stand-in holds itself and its callers to GitHub's API description, both ways. */
const TOKEN = 'ghs_Standin0123456789abcdefABCDEF01234567';
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
let dir: string;
let file: string;
let tampered: Partial<Record<string, (r: Reply) => Reply>> = {};
let s: RunningStandin;
let gh: Octokit;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bka-self-standin-'));
  file = join(dir, 'state.json');
  const releases = Array.from({ length: 45 }, (_, k) => ({
    tag_name: `v0.${k}.0`,
    created_at: `2026-01-${String(1 + (k % 28)).padStart(2, '0')}T00:00:${String(k).padStart(2, '0')}Z`,
  }));
  await writeFile(
    file,
    JSON.stringify({
      tokens: [TOKEN],
      repos: {
        'moby/buildkit': { releases },
        'me/secret': { private: true },
        'me/bk': { workflows: ['build.yml'] },
      },
    }),
  );
  s = await startGithubStandin({ stateFile: file, tamper: (id, r) => tampered[id]?.(r) ?? r });
  gh = new Octokit({ baseUrl: s.url, auth: TOKEN, log: quiet, request: { retries: 0 } });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { status?: number }) => e.status ?? -1,
  );

describe('the GitHub stand-in', () => {
  test('pages as GitHub does: per_page (default 30, at most 100) and a Link header', async () => {
    const first = await gh.repos.listReleases({ owner: 'moby', repo: 'buildkit' });
    expect(first.data).toHaveLength(30);
    expect(first.headers.link).toMatch(/[?&]page=2[^>]*>; rel="next"/);
    expect(
      await gh.paginate(gh.repos.listReleases, { owner: 'moby', repo: 'buildkit', per_page: 100 }),
    ).toHaveLength(45);
    expect(
      (await gh.repos.listReleases({ owner: 'moby', repo: 'buildkit', per_page: 500 })).data,
    ).toHaveLength(45);
  });

  test("refuses what GitHub refuses, in GitHub's error shape", async () => {
    const err = (await gh.issues
      .listForRepo({ owner: 'me', repo: 'bk', state: 'bogus' as never })
      .catch((e) => e)) as {
      status: number;
      response: { data: { message: string; errors: unknown[] } };
    };
    expect(err.status).toBe(422);
    expect(err.response.data.message).toBe('Validation Failed');
    expect(err.response.data.errors).not.toEqual([]);
    expect(
      await status(
        gh.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
          owner: 'me',
          repo: 'bk',
          workflow_id: 'build.yml',
        } as never),
      ),
    ).toBe(422);
    expect(await status(gh.request('GET /repos/me/bk/issues', { per_page: 'abc' }))).toBe(422);
    expect(await status(gh.issues.get({ owner: 'me', repo: 'bk', issue_number: 99 }))).toBe(404);
  });

  test('honours auth: 401 for a bad token, and without one for a private repository or a change', async () => {
    const anonymous = new Octokit({ baseUrl: s.url, log: quiet, request: { retries: 0 } });
    expect(await status(anonymous.repos.listReleases({ owner: 'moby', repo: 'buildkit' }))).toBe(200);
    expect(await status(anonymous.issues.listForRepo({ owner: 'me', repo: 'secret' }))).toBe(401);
    expect(await status(anonymous.issues.create({ owner: 'me', repo: 'bk', title: 't' }))).toBe(401);
    const wrong = new Octokit({ baseUrl: s.url, auth: 'ghp_wrong', log: quiet, request: { retries: 0 } });
    expect(await status(wrong.repos.listReleases({ owner: 'moby', repo: 'buildkit' }))).toBe(401);
  });

  test('keeps state in its file across requests', async () => {
    const created = await gh.issues.create({ owner: 'me', repo: 'bk', title: 'kept', labels: ['x'] });
    await gh.issues.update({ owner: 'me', repo: 'bk', issue_number: created.data.number, state: 'closed' });
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.repos['me/bk'].issues[0]).toMatchObject({ title: 'kept', state: 'closed', labels: ['x'] });
  });

  test('a response of its own that the description forbids is a loud 500, never sent as if valid', async () => {
    tampered = {
      'repos/list-releases': (r) => ({
        ...r,
        body: (r.body as Array<Record<string, unknown>>).map((x) => ({ ...x, id: String(x.id) })),
      }),
      'actions/create-workflow-dispatch': (r) => ({ ...r, body: { ok: true } }),
    };
    try {
      expect(await status(gh.repos.listReleases({ owner: 'moby', repo: 'buildkit' }))).toBe(500);
      expect(
        await status(
          gh.actions.createWorkflowDispatch({
            owner: 'me',
            repo: 'bk',
            workflow_id: 'build.yml',
            ref: 'main',
          }),
        ),
      ).toBe(500);
      expect(s.violations.join('\n')).toMatch(/repos\/list-releases 200: .*id.*must be integer/);
      expect(s.violations.join('\n')).toMatch(/create-workflow-dispatch 204: a 204 must have no body/);
    } finally {
      tampered = {};
    }
  });
});

describe("the stand-in's slice of GitHub's description", () => {
  const subset = JSON.parse(readFileSync(SUBSET_FILE, 'utf8')) as Subset;
  const ids = Object.values(subset.paths).flatMap((p) =>
    Object.values(p ?? {}).flatMap((op) =>
      op && typeof op === 'object' && 'operationId' in op ? [op.operationId] : [],
    ),
  );

  test('holds exactly the operations the stand-in serves, every reference resolving inside it', () => {
    expect(ids.sort()).toEqual(Object.keys(handlers).sort());
    expect(unresolvedRefs(subset)).toEqual([]);
    expect(subset['x-sliced-from']).toMatchObject({
      package: '@octokit/openapi',
      file: 'generated/api.github.com.json',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  test('slicing keeps what an operation reaches, drops the rest, and refuses an operation GitHub lacks', () => {
    const doc = {
      openapi: '3.0.3',
      info: { title: 'GitHub', version: '1' },
      paths: {
        '/a/{id}': {
          parameters: [{ $ref: '#/components/parameters/id' }],
          get: { operationId: 'a/get', responses: { 200: { $ref: '#/components/responses/ok' } } },
          delete: { operationId: 'a/delete', responses: { 204: { description: 'gone' } } },
        },
        '/b': { get: { operationId: 'b/get', responses: { 200: { $ref: '#/components/responses/other' } } } },
      },
      components: {
        parameters: { id: { name: 'id', in: 'path', required: true, schema: { type: 'integer' } } },
        responses: {
          ok: {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/thing' } } },
          },
          other: { description: 'other' },
        },
        schemas: {
          thing: { type: 'object', properties: { owner: { $ref: '#/components/schemas/user' } } },
          user: { type: 'object' },
          unused: { type: 'string' },
        },
      },
    } as never;
    const from = { package: 'p', version: '1', file: 'f', sha256: '0'.repeat(64) };
    const slice = sliceDescription(doc, ['a/get'], from);
    expect(Object.keys(slice.paths)).toEqual(['/a/{id}']);
    expect(Object.keys(slice.paths['/a/{id}'] ?? {})).toEqual(['parameters', 'get']);
    expect(slice.components).toEqual({
      parameters: { id: expect.anything() },
      responses: { ok: expect.anything() },
      schemas: { thing: expect.anything(), user: expect.anything() },
    });
    expect(unresolvedRefs(slice)).toEqual([]);
    expect(() => sliceDescription(doc, ['a/get', 'c/get'], from)).toThrow(
      "not in GitHub's description: c/get",
    );
  });

  test('a request for an operation it does not serve is a 404 naming what it serves', async () => {
    const r = await fetch(`${s.url}/repos/me/bk/pulls`, { headers: { authorization: `token ${TOKEN}` } });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { message: string }).message).toBe(
      `Not Found (the stand-in serves only ${Object.keys(handlers).join(', ')}; not GET /repos/me/bk/pulls)`,
    );
  });
});
