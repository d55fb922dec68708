/**
 * The release tracker: notices a new moby/buildkit release, starts the weekly build for it and opens a
 * tracking issue; the build's completion closes that issue. Idempotent: the tracking issue (open:
 * building; closed: built) and this project's own release are the memory, so a second run changes nothing.
 *
 * The upstream traps it avoids: `releases/latest` goes by date and can be a `dockerfile/*` frontend
 * release; "the newest listed vX.Y.Z on the first page" loses to a backport published after a newer
 * minor and to a page full of prereleases. It reads every page and takes the highest `vX.Y.Z`.
 */
import type { Octokit } from '@octokit/rest';
import { highestRelease } from './semver.ts';

export const TRACKING_LABEL = 'buildkit-release';
export const IN_PROGRESS_LABEL = 'build-in-progress';
export const BUILD_WORKFLOW = 'buildkit-weekly-build.yml';

export const trackingTitle = (version: string) => `Building BuildKit ${version} for RISC-V64`;
export const releaseTag = (version: string) => `buildkit-${version}-riscv64`;

export interface Repo {
  owner: string;
  repo: string;
}

export interface TrackOptions {
  octokit: Octokit;
  upstream: Repo;
  project: Repo;
  /** The branch the build workflow is dispatched on. */
  ref: string;
  workflow?: string;
  dryRun?: boolean;
}

export type TrackStatus = 'new' | 'building' | 'built' | 'no-release';

export interface TrackDecision {
  status: TrackStatus;
  upstream: string;
  latest?: string;
  /** Why: which evidence said so. */
  reason: string;
  issue?: { number: number; url: string; state: string };
  dispatched?: { workflow: string; ref: string; inputs: Record<string, string> };
  releasesRead: number;
  dryRun: boolean;
}

/** Every release of the upstream, all pages; drafts, prereleases and non-`vX.Y.Z` tags dropped. */
export async function upstreamReleaseTags(
  octokit: Octokit,
  upstream: Repo,
): Promise<{ tags: string[]; read: number }> {
  const all = await octokit.paginate(octokit.repos.listReleases, { ...upstream, per_page: 100 });
  return { tags: all.filter((r) => !r.draft && !r.prerelease).map((r) => r.tag_name), read: all.length };
}

/** The tracking issue of exactly this version (a title that is only a prefix, v0.26.2 of v0.26.20, is not it). */
export async function trackingIssue(octokit: Octokit, project: Repo, version: string) {
  const issues = await octokit.paginate(octokit.issues.listForRepo, {
    ...project,
    state: 'all',
    labels: TRACKING_LABEL,
    per_page: 100,
  });
  const title = trackingTitle(version);
  return issues.find((i) => !i.pull_request && i.title.trim() === title);
}

export function trackingBody(version: string, upstream: Repo, project: Repo, workflow: string): string {
  const p = `${project.owner}/${project.repo}`;
  return [
    `BuildKit [${version}](https://github.com/${upstream.owner}/${upstream.repo}/releases/tag/${version}) was released upstream.`,
    `The release tracker dispatched \`${workflow}\` with \`buildkit_ref=${version}\`.`,
    '',
    '## Monitor',
    '',
    '```sh',
    `gh run list --repo ${p} --workflow ${workflow} --limit 5`,
    `gh run watch --repo ${p} $(gh run list --repo ${p} --workflow ${workflow} --limit 1 --json databaseId --jq '.[0].databaseId')`,
    `gh release view ${releaseTag(version)} --repo ${p}`,
    '```',
    '',
    '## Checklist',
    '',
    `- [ ] buildkitd and buildctl ${version} built natively on riscv64; phase \`binaries\` green`,
    `- [ ] release \`${releaseTag(version)}\` published with the binaries, SHA256SUMS, VERSION.txt, IMAGE_TAG.txt and REGISTRY.txt`,
    `- [ ] image \`${version}-riscv64\` pushed; phase \`container\` green on the pushed image`,
    `- [ ] nightly acceptance green for ${version} on every board`,
    '',
    'The build closes this issue when it completes, naming the release and the image digest.',
  ].join('\n');
}

export async function track(o: TrackOptions): Promise<TrackDecision> {
  const workflow = o.workflow ?? BUILD_WORKFLOW;
  const upstream = `${o.upstream.owner}/${o.upstream.repo}`;
  const { tags, read } = await upstreamReleaseTags(o.octokit, o.upstream);
  const latest = highestRelease(tags);
  const base = { upstream, latest, releasesRead: read, dryRun: o.dryRun ?? false };
  if (!latest)
    return {
      ...base,
      status: 'no-release',
      reason: `no vX.Y.Z release among ${read} releases of ${upstream}`,
    };

  const issue = await trackingIssue(o.octokit, o.project, latest);
  const issueRef = issue && { number: issue.number, url: issue.html_url, state: issue.state };
  if (issue?.state === 'closed')
    return {
      ...base,
      status: 'built',
      issue: issueRef,
      reason: `tracking issue #${issue.number} for ${latest} is closed`,
    };
  if (issue)
    return {
      ...base,
      status: 'building',
      issue: issueRef,
      reason: `tracking issue #${issue.number} for ${latest} is open`,
    };
  const own = await o.octokit.repos
    .getReleaseByTag({ ...o.project, tag: releaseTag(latest) })
    .then((r) => r.data)
    .catch((err: { status?: number }) => {
      if (err.status === 404) return undefined;
      throw err;
    });
  if (own)
    return { ...base, status: 'built', reason: `release ${releaseTag(latest)} exists (${own.html_url})` };

  const inputs = { buildkit_ref: latest };
  if (o.dryRun)
    return {
      ...base,
      status: 'new',
      reason: `${latest} has no tracking issue and no release (dry run: nothing done)`,
    };
  await o.octokit.actions.createWorkflowDispatch({ ...o.project, workflow_id: workflow, ref: o.ref, inputs });
  const created = await o.octokit.issues.create({
    ...o.project,
    title: trackingTitle(latest),
    body: trackingBody(latest, o.upstream, o.project, workflow),
    labels: [TRACKING_LABEL, IN_PROGRESS_LABEL],
  });
  return {
    ...base,
    status: 'new',
    reason: `${latest} had no tracking issue and no release: build dispatched, issue opened`,
    dispatched: { workflow, ref: o.ref, inputs },
    issue: { number: created.data.number, url: created.data.html_url, state: created.data.state },
  };
}

export interface CompleteOptions {
  octokit: Octokit;
  project: Repo;
  version: string;
  releaseUrl: string;
  imageDigest: string;
  runUrl?: string;
}

/** The build finished: comment the release and image digest, drop `build-in-progress`, close the issue. */
export async function completeBuild(
  o: CompleteOptions,
): Promise<{ issue?: number; closed: boolean; reason: string }> {
  const issue = await trackingIssue(o.octokit, o.project, o.version);
  if (!issue) return { closed: false, reason: `no tracking issue for ${o.version}: nothing to close` };
  if (issue.state === 'closed')
    return { issue: issue.number, closed: false, reason: `#${issue.number} is closed already` };
  await o.octokit.issues.createComment({
    ...o.project,
    issue_number: issue.number,
    body: [
      `Built BuildKit ${o.version} for riscv64.`,
      '',
      `- Release: ${o.releaseUrl}`,
      `- Image digest: \`${o.imageDigest}\``,
      ...(o.runUrl ? [`- Run: ${o.runUrl}`] : []),
    ].join('\n'),
  });
  const labels = issue.labels
    .map((l) => (typeof l === 'string' ? l : (l.name ?? '')))
    .filter((l) => l && l !== IN_PROGRESS_LABEL);
  await o.octokit.issues.update({
    ...o.project,
    issue_number: issue.number,
    state: 'closed',
    state_reason: 'completed',
    labels,
  });
  return { issue: issue.number, closed: true, reason: `#${issue.number} closed with the release and digest` };
}
