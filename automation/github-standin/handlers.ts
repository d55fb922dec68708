/** The REST operations the stand-in serves, by GitHub's operationId, over its state. */
import type { Context } from 'openapi-backend';
import { type Base, comment, issue, release } from './objects.ts';
import type { IssueEntry, RepoEntry, StandinState } from './state.ts';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** The state changed: write it back. */
  changed?: boolean;
}

interface Call {
  c: Context;
  state: StandinState;
  base: Base;
  nextId: () => number;
}

type Handler = (call: Call) => Reply;

const notFound: Reply = {
  status: 404,
  body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
};
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function repoOf(call: Call): { name: string; repo: RepoEntry } | undefined {
  const p = call.c.request.params as Record<string, string>;
  const name = `${p.owner}/${p.repo}`;
  const repo = call.state.repos[name];
  return repo ? { name, repo } : undefined;
}

/** GitHub's pagination: `page`, `per_page` (default 30, at most 100) and a Link header. */
function page<T>(call: Call, items: T[]): { items: T[]; headers: Record<string, string> } {
  const q = call.c.request.query as Record<string, string>;
  const perPage = Math.min(100, Math.max(1, Number(q.per_page ?? 30)));
  const current = Math.max(1, Number(q.page ?? 1));
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const u = new URL(`${call.base.api}${call.c.request.path}`);
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, String(v));
    u.searchParams.set('per_page', String(perPage));
    u.searchParams.set('page', String(n));
    return `<${u}>; rel="${rel}"`;
  };
  const rels = [
    ...(current < last ? [link(current + 1, 'next'), link(last, 'last')] : []),
    ...(current > 1 ? [link(1, 'first'), link(current - 1, 'prev')] : []),
  ];
  return {
    items: items.slice((current - 1) * perPage, current * perPage),
    headers: rels.length ? { link: rels.join(', ') } : {},
  };
}

function issueOf(call: Call, repo: RepoEntry): IssueEntry | undefined {
  const n = Number((call.c.request.params as Record<string, string>).issue_number);
  return repo.issues.find((i) => i.number === n);
}

const body = (call: Call) => (call.c.request.requestBody ?? {}) as Record<string, unknown>;

export const handlers: Record<string, Handler> = {
  'repos/list-releases': (call) => {
    const r = repoOf(call);
    if (!r) return notFound;
    const sorted = [...r.repo.releases].sort((a, b) =>
      (b.created_at ?? b.published_at ?? '').localeCompare(a.created_at ?? a.published_at ?? ''),
    );
    const p = page(call, sorted);
    return {
      status: 200,
      body: p.items.map((x) => release(call.base, r.name, x, call.state.login)),
      headers: p.headers,
    };
  },

  /** GitHub's "latest": the most recently created full release, by date (it can be a dockerfile/* one). */
  'repos/get-latest-release': (call) => {
    const r = repoOf(call);
    const full = (r?.repo.releases ?? [])
      .filter((x) => !x.draft && !x.prerelease)
      .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
    return r && full[0]
      ? { status: 200, body: release(call.base, r.name, full[0], call.state.login) }
      : notFound;
  },

  'repos/get-release-by-tag': (call) => {
    const r = repoOf(call);
    const tag = (call.c.request.params as Record<string, string>).tag;
    const found = r?.repo.releases.find((x) => x.tag_name === tag && !x.draft);
    return r && found ? { status: 200, body: release(call.base, r.name, found, call.state.login) } : notFound;
  },

  'repos/create-release': (call) => {
    const r = repoOf(call);
    if (!r) return notFound;
    const b = body(call);
    if (r.repo.releases.some((x) => x.tag_name === b.tag_name))
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
          documentation_url: 'https://docs.github.com/rest/releases/releases#create-a-release',
          status: '422',
        },
      };
    const entry = {
      id: call.nextId(),
      tag_name: String(b.tag_name),
      name: (b.name as string | undefined) ?? String(b.tag_name),
      body: (b.body as string | undefined) ?? null,
      draft: Boolean(b.draft),
      prerelease: Boolean(b.prerelease),
      target_commitish: (b.target_commitish as string | undefined) ?? 'master',
      created_at: now(),
      published_at: b.draft ? null : now(),
    };
    r.repo.releases.push(entry);
    return { status: 201, body: release(call.base, r.name, entry, call.state.login), changed: true };
  },

  'repos/delete-release': (call) => {
    const r = repoOf(call);
    const id = Number((call.c.request.params as Record<string, string>).release_id);
    if (!r?.repo.releases.some((x) => x.id === id)) return notFound;
    r.repo.releases = r.repo.releases.filter((x) => x.id !== id);
    return { status: 204, changed: true };
  },

  'issues/list-for-repo': (call) => {
    const r = repoOf(call);
    if (!r) return notFound;
    const q = call.c.request.query as Record<string, string>;
    const state = q.state ?? 'open';
    const labels = (q.labels ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean);
    const chosen = r.repo.issues
      .filter((i) => state === 'all' || i.state === state)
      .filter((i) => labels.every((l) => i.labels.includes(l)))
      .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.number - a.number);
    const p = page(call, chosen);
    return {
      status: 200,
      body: p.items.map((i) => issue(call.base, r.name, i, call.state.login)),
      headers: p.headers,
    };
  },

  'issues/get': (call) => {
    const r = repoOf(call);
    const i = r && issueOf(call, r.repo);
    return r && i ? { status: 200, body: issue(call.base, r.name, i, call.state.login) } : notFound;
  },

  'issues/create': (call) => {
    const r = repoOf(call);
    if (!r) return notFound;
    const b = body(call);
    const labels = ((b.labels as Array<string | { name?: string }> | undefined) ?? []).map((l) =>
      typeof l === 'string' ? l : (l.name ?? ''),
    );
    for (const l of labels) if (!r.repo.labels.includes(l)) r.repo.labels.push(l);
    const number = Math.max(0, ...r.repo.issues.map((i) => i.number)) + 1;
    const entry: IssueEntry = {
      number,
      title: String(b.title),
      body: (b.body as string | undefined) ?? null,
      state: 'open',
      labels,
      created_at: now(),
      updated_at: now(),
      closed_at: null,
      comments: [],
    };
    r.repo.issues.push(entry);
    return { status: 201, body: issue(call.base, r.name, entry, call.state.login), changed: true };
  },

  'issues/update': (call) => {
    const r = repoOf(call);
    const i = r && issueOf(call, r.repo);
    if (!r || !i) return notFound;
    const b = body(call);
    if (typeof b.title === 'string') i.title = b.title;
    if (b.body !== undefined) i.body = b.body as string | null;
    if (Array.isArray(b.labels))
      i.labels = (b.labels as Array<string | { name?: string }>).map((l) =>
        typeof l === 'string' ? l : (l.name ?? ''),
      );
    if (b.state === 'closed' && i.state !== 'closed') {
      i.state = 'closed';
      i.closed_at = now();
      i.state_reason = (b.state_reason as IssueEntry['state_reason']) ?? 'completed';
    } else if (b.state === 'open' && i.state !== 'open') {
      i.state = 'open';
      i.closed_at = null;
      i.state_reason = 'reopened';
    }
    i.updated_at = now();
    return { status: 200, body: issue(call.base, r.name, i, call.state.login), changed: true };
  },

  'issues/create-comment': (call) => {
    const r = repoOf(call);
    const i = r && issueOf(call, r.repo);
    if (!r || !i) return notFound;
    const c = { id: call.nextId(), body: String(body(call).body), created_at: now() };
    i.comments.push(c);
    i.updated_at = c.created_at;
    return { status: 201, body: comment(call.base, r.name, i.number, c, call.state.login), changed: true };
  },

  'issues/list-comments': (call) => {
    const r = repoOf(call);
    const i = r && issueOf(call, r.repo);
    if (!r || !i) return notFound;
    const p = page(call, i.comments);
    return {
      status: 200,
      body: p.items.map((c) => comment(call.base, r.name, i.number, c, call.state.login)),
      headers: p.headers,
    };
  },

  'actions/create-workflow-dispatch': (call) => {
    const r = repoOf(call);
    const id = (call.c.request.params as Record<string, string>).workflow_id;
    if (!r?.repo.workflows.includes(String(id))) return notFound;
    const b = body(call);
    r.repo.dispatches.push({
      workflow_id: String(id),
      ref: String(b.ref),
      inputs: (b.inputs as Record<string, unknown> | undefined) ?? {},
      at: now(),
    });
    return { status: 204, changed: true };
  },
};
