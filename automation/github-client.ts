/**
 * The GitHub client the automation uses: `GITHUB_API_URL` and `GITHUB_TOKEN` as Actions sets them (or
 * `--github-api-url`), the token registered as a secret so that no log or report ever shows it.
 */
import { Octokit } from '@octokit/rest';
import { ConfigError } from '../helpers/errors.ts';
import { registerSecret } from '../helpers/redact.ts';

export interface GithubTarget {
  octokit: Octokit;
  apiUrl: string;
}

export function githubClient(o: { apiUrl?: string; token?: string; requireToken?: boolean }): GithubTarget {
  const apiUrl = (o.apiUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl))
    throw new ConfigError(
      `--github-api-url: expected an http(s) URL such as https://api.github.com, got '${apiUrl}'`,
    );
  const token = o.token ?? process.env.GITHUB_TOKEN;
  if (o.requireToken && !token)
    throw new ConfigError('no GitHub token: set GITHUB_TOKEN (in a workflow, from secrets.GITHUB_TOKEN)');
  registerSecret(token);
  const octokit = new Octokit({
    baseUrl: apiUrl,
    ...(token ? { auth: token } : {}),
    userAgent: 'buildkit-riscv64-acceptance',
    request: { retries: 0 },
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  return { octokit, apiUrl };
}

/** `owner/name` split, or a ConfigError naming the option. */
export function repoArg(value: string | undefined, option: string): { owner: string; repo: string } {
  const m = value ? /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(value) : undefined;
  if (!m) throw new ConfigError(`${option}: expected OWNER/NAME, got '${value ?? ''}'`);
  return { owner: m[1]!, repo: m[2]! };
}

/** A failed GitHub call as one sentence: status, method, URL, GitHub's message; never the token. */
export function githubErrorMessage(err: unknown): string {
  const e = err as { status?: number; message?: string; request?: { method?: string; url?: string } };
  if (e?.status)
    return `GitHub answered ${e.status} to ${e.request?.method ?? ''} ${e.request?.url ?? ''}: ${(e.message ?? '').split(' - ')[0]}`;
  return `cannot reach GitHub: ${e?.message ?? String(err)}`;
}
