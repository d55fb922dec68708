/**
 * The automation's commands: `github-standin`, `track` and `close-issues`. Each prints its decision as
 * JSON on stdout and one line on stderr. Exit codes: 0 done (the JSON says what), 1 a GitHub call
 * failed, 2 bad usage or config (no token, a malformed repository), 3 GitHub refused the token.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_REPORT_DIR } from '../harness/plan/options.ts';
import { ConfigError, errorMessage } from '../helpers/errors.ts';
import type { RunResults } from '../reports/model.ts';
import { type Flags, parseFlags } from './command-flags.ts';
import { githubClient, githubErrorMessage, repoArg } from './github-client.ts';
import { applyPlans, type BoardResults, planIssues } from './issue-closer.ts';
import { completeBuild, track } from './tracker.ts';

const one = (f: Flags, name: string) => f[name]?.at(-1);
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const say = (line: string) => process.stderr.write(`${line}\n`);

function runUrl(f: Flags): string | undefined {
  const e = process.env;
  return (
    one(f, '--run-url') ??
    (e.GITHUB_RUN_ID
      ? `${e.GITHUB_SERVER_URL ?? 'https://github.com'}/${e.GITHUB_REPOSITORY}/actions/runs/${e.GITHUB_RUN_ID}`
      : undefined)
  );
}

/** `--not-before` as an ISO instant (a bad one is a usage error). */
function notBefore(f: Flags): string | undefined {
  const v = one(f, '--not-before');
  if (v !== undefined && Number.isNaN(Date.parse(v)))
    throw new ConfigError(`usage: --not-before expects an ISO 8601 instant, got '${v}'`);
  return v;
}

const projectRepo = (f: Flags) =>
  repoArg(one(f, '--repo') ?? process.env.GITHUB_REPOSITORY, '--repo (or GITHUB_REPOSITORY)');

async function githubCall<T>(work: () => Promise<T>): Promise<T | number> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    say(`error: ${githubErrorMessage(err)}`);
    return (err as { status?: number }).status === 401 ? 3 : 1;
  }
}

export async function automationCommand(command: string, argv: string[]): Promise<number> {
  const f = parseFlags(command, argv);
  if (command === 'github-standin') {
    const stateFile = one(f, '--state');
    if (!stateFile) throw new ConfigError('usage: github-standin --state FILE [--port N]');
    const standin = await (await import('./github-standin/server.ts')).startGithubStandin({
      stateFile,
      port: Number(one(f, '--port') ?? 0),
      host: one(f, '--host'),
      log: say,
    });
    process.stdout.write(`${standin.url}\n`);
    say(
      `github-standin: serving ${stateFile} on ${standin.url} (GITHUB_API_URL=${standin.url}); Ctrl-C stops it`,
    );
    await new Promise<void>((resolve) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve());
    });
    await standin.close();
    return standin.violations.length > 0 ? 1 : 0;
  }
  const { octokit } = githubClient({ apiUrl: one(f, '--github-api-url'), requireToken: true });
  const project = projectRepo(f);
  if (command === 'track') {
    const complete = one(f, '--complete');
    if (complete) {
      const releaseUrl = one(f, '--release-url');
      const imageDigest = one(f, '--image-digest');
      if (!releaseUrl || !imageDigest)
        throw new ConfigError('usage: track --complete vX.Y.Z --release-url URL --image-digest sha256:...');
      const r = await githubCall(() =>
        completeBuild({ octokit, project, version: complete, releaseUrl, imageDigest, runUrl: runUrl(f) }),
      );
      if (typeof r === 'number') return r;
      out(r);
      say(`track: ${r.reason}`);
      return 0;
    }
    const upstream = repoArg(one(f, '--upstream') ?? 'moby/buildkit', '--upstream');
    const decision = await githubCall(() =>
      track({
        octokit,
        upstream,
        project,
        ref: one(f, '--ref') ?? process.env.GITHUB_REF_NAME ?? 'main',
        workflow: one(f, '--workflow'),
        dryRun: Boolean(one(f, '--dry-run')),
      }),
    );
    if (typeof decision === 'number') return decision;
    out(decision);
    say(`track: ${decision.status}${decision.latest ? ` ${decision.latest}` : ''}: ${decision.reason}`);
    return 0;
  }
  // close-issues
  const files = f['--results'] ?? [`${DEFAULT_REPORT_DIR}/results.json`];
  const names = f['--board'] ?? [];
  const boards: BoardResults[] = files.map((file, i) => {
    try {
      return { board: names[i] ?? file, results: JSON.parse(readFileSync(file, 'utf8')) as RunResults };
    } catch (err) {
      throw new ConfigError(`--results ${file}: ${errorMessage(err)}`);
    }
  });
  const act = Boolean(one(f, '--act')) && !one(f, '--dry-run');
  const since = notBefore(f);
  const result = await githubCall(async () => {
    const states = new Map<number, 'open' | 'closed'>();
    for (const n of [207, 208, 209, 210]) {
      const issue = await octokit.issues.get({ ...project, issue_number: n });
      states.set(n, issue.data.state === 'closed' ? 'closed' : 'open');
    }
    const plans = planIssues(boards, (n) => states.get(n) ?? 'open', runUrl(f), since);
    if (act) await applyPlans(octokit, project, plans);
    return plans;
  });
  if (typeof result === 'number') return result;
  out({ dryRun: !act, plans: result });
  for (const p of result)
    say(`close-issues: #${p.issue} (${p.phases.join(', ')}): ${act ? '' : 'would '}${p.action}: ${p.reason}`);
  return 0;
}
