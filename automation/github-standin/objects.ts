/** GitHub's REST objects as the API returns them, built from the stand-in's state entries. */
import type { IssueEntry, ReleaseEntry } from './state.ts';

export interface Base {
  /** e.g. http://127.0.0.1:8787 */
  api: string;
  html: string;
}

const nodeId = (kind: string, id: number) => Buffer.from(`${kind}:${id}`).toString('base64');

export function user(b: Base, login: string, id = 1): Record<string, unknown> {
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${b.html}/avatars/${login}`,
    gravatar_id: '',
    url: `${b.api}/users/${login}`,
    html_url: `${b.html}/${login}`,
    followers_url: `${b.api}/users/${login}/followers`,
    following_url: `${b.api}/users/${login}/following{/other_user}`,
    gists_url: `${b.api}/users/${login}/gists{/gist_id}`,
    starred_url: `${b.api}/users/${login}/starred{/owner}{/repo}`,
    subscriptions_url: `${b.api}/users/${login}/subscriptions`,
    organizations_url: `${b.api}/users/${login}/orgs`,
    repos_url: `${b.api}/users/${login}/repos`,
    events_url: `${b.api}/users/${login}/events{/privacy}`,
    received_events_url: `${b.api}/users/${login}/received_events`,
    type: 'User',
    site_admin: false,
  };
}

export function release(b: Base, repo: string, r: ReleaseEntry, login: string): Record<string, unknown> {
  const url = `${b.api}/repos/${repo}/releases/${r.id}`;
  return {
    url,
    html_url: `${b.html}/${repo}/releases/tag/${r.tag_name}`,
    assets_url: `${url}/assets`,
    upload_url: `${b.api.replace('://', '://uploads.')}/repos/${repo}/releases/${r.id}/assets{?name,label}`,
    tarball_url: `${b.api}/repos/${repo}/tarball/${r.tag_name}`,
    zipball_url: `${b.api}/repos/${repo}/zipball/${r.tag_name}`,
    id: r.id,
    node_id: nodeId('Release', r.id),
    tag_name: r.tag_name,
    target_commitish: r.target_commitish ?? 'master',
    name: r.name ?? r.tag_name,
    body: r.body ?? null,
    draft: r.draft ?? false,
    prerelease: r.prerelease ?? false,
    immutable: false,
    created_at: r.created_at ?? r.published_at ?? '2026-01-01T00:00:00Z',
    published_at: r.draft ? null : (r.published_at ?? r.created_at ?? '2026-01-01T00:00:00Z'),
    updated_at: r.published_at ?? r.created_at ?? '2026-01-01T00:00:00Z',
    author: user(b, login),
    assets: [],
  };
}

export function label(b: Base, repo: string, name: string, id: number): Record<string, unknown> {
  return {
    id,
    node_id: nodeId('Label', id),
    url: `${b.api}/repos/${repo}/labels/${encodeURIComponent(name)}`,
    name,
    description: null,
    color: 'ededed',
    default: false,
  };
}

export function issue(b: Base, repo: string, i: IssueEntry, login: string): Record<string, unknown> {
  const url = `${b.api}/repos/${repo}/issues/${i.number}`;
  return {
    id: 100_000 + i.number,
    node_id: nodeId('Issue', i.number),
    url,
    repository_url: `${b.api}/repos/${repo}`,
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: `${b.html}/${repo}/issues/${i.number}`,
    number: i.number,
    state: i.state,
    state_reason: i.state_reason ?? null,
    title: i.title,
    body: i.body ?? null,
    user: user(b, login),
    labels: i.labels.map((n, k) => label(b, repo, n, 5000 + k)),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: i.comments.length,
    created_at: i.created_at,
    updated_at: i.updated_at,
    closed_at: i.closed_at,
    author_association: 'OWNER',
  };
}

export function comment(
  b: Base,
  repo: string,
  issueNumber: number,
  c: { id: number; body: string; created_at: string },
  login: string,
): Record<string, unknown> {
  return {
    id: c.id,
    node_id: nodeId('IssueComment', c.id),
    url: `${b.api}/repos/${repo}/issues/comments/${c.id}`,
    html_url: `${b.html}/${repo}/issues/${issueNumber}#issuecomment-${c.id}`,
    issue_url: `${b.api}/repos/${repo}/issues/${issueNumber}`,
    body: c.body,
    user: user(b, login),
    created_at: c.created_at,
    updated_at: c.created_at,
    author_association: 'OWNER',
  };
}
