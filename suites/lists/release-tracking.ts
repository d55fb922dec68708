/**
 * The release-tracking phase's test list: each scenario seeds the GitHub stand-in, drives a tool (the
 * suite's own commands with the workflows' argv, or, in the self tests, a deliberately naive tool that
 * must fail it) and checks what the stand-in holds afterwards. One list, many tools (Buildx's tests/).
 * Over 250 lines: it is the phase's whole test list, kept in one place so that both tool kinds run it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { type RunningStandin, startGithubStandin } from '../../automation/github-standin/server.ts';
import type { IssueEntry, ReleaseEntry } from '../../automation/github-standin/state.ts';
import type { PhaseResult, RunResults } from '../../reports/model.ts';

export const PROJECT = 'riscv-lab/buildkit-riscv64';
export const TOKEN = 'ghs_Rehearsal0123456789abcdefABCDEF012345';
export const DIGEST = `sha256:${'ab12'.repeat(16)}`;

export interface ToolRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ToolEnv {
  apiUrl: string;
  /** Absent: no token at all. */
  token?: string;
  dir: string;
}

export interface Tool {
  name: string;
  track(env: ToolEnv): Promise<ToolRun>;
  complete(env: ToolEnv, version: string, releaseUrl: string, digest: string): Promise<ToolRun>;
  /** `notBefore`: when the workflow run started (the closer refuses results older than that). */
  closeIssues(
    env: ToolEnv,
    boards: Array<{ board: string; file: string }>,
    notBefore?: string,
  ): Promise<ToolRun>;
}

const FIXTURE = fileURLToPath(
  new URL('../../fixtures/release-tracking/buildkit-releases.json', import.meta.url),
);
/** The real BuildKit releases (v0.12.5 ... v0.34.2), as the Go module proxy lists them. */
export const RECORDED: Array<Omit<ReleaseEntry, 'id'>> = (
  JSON.parse(readFileSync(FIXTURE, 'utf8')) as { releases: Array<Omit<ReleaseEntry, 'id'>> }
).releases.map((r) => ({ ...r, created_at: r.published_at ?? undefined }));

type Seed = {
  upstream: Array<Omit<ReleaseEntry, 'id'>>;
  issues?: Array<Partial<IssueEntry>>;
  privateRepo?: boolean;
};

const at = (day: string) => `${day}T12:00:00Z`;

/** A stand-in for one scenario, its state in a temp dir, stopped by `close`. */
export async function standin(
  seed: Seed,
): Promise<{ s: RunningStandin; env: ToolEnv; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bka-standin-'));
  const file = join(dir, 'state.json');
  const issues = (seed.issues ?? []).map((i, k) => ({ number: k + 1, labels: [], ...i }));
  await writeFile(
    file,
    JSON.stringify({
      tokens: [TOKEN],
      repos: {
        'moby/buildkit': { releases: seed.upstream, private: false },
        [PROJECT]: {
          private: seed.privateRepo ?? false,
          issues,
          workflows: ['buildkit-weekly-build.yml'],
          labels: ['buildkit-release', 'build-in-progress'],
        },
      },
    }),
  );
  const s = await startGithubStandin({ stateFile: file }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    s,
    env: { apiUrl: s.url, token: TOKEN, dir },
    close: async () => {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` against a stand-in seeded for it, stopped afterwards whatever happens. */
async function withStandin(
  seed: Seed,
  fn: (s: RunningStandin, env: ToolEnv) => Promise<void>,
): Promise<void> {
  const { s, env, close } = await standin(seed);
  try {
    await fn(s, env);
  } finally {
    await close();
  }
}

export const project = (s: RunningStandin) => s.state().repos[PROJECT]!;
const trackingIssues = (s: RunningStandin) =>
  project(s).issues.filter((i) => i.labels.includes('buildkit-release'));
const title = (v: string) => `Building BuildKit ${v} for RISC-V64`;

async function expectNewBuild(tool: Tool, seed: Seed, version: string): Promise<void> {
  await withStandin(seed, async (s, env) => {
    const run = await tool.track(env);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(project(s).dispatches.map((d) => d.inputs)).toEqual([{ buildkit_ref: version }]);
    expect(
      trackingIssues(s)
        .filter((i) => i.state === 'open')
        .map((i) => i.title),
    ).toContain(title(version));
    expect(s.violations).toEqual([]);
  });
}

/** A tracking issue as the tracker opens it (labels buildkit-release, and build-in-progress while building). */
function trackingIssue(
  version: string,
  state: 'open' | 'closed',
  day: string,
  building = false,
): Partial<IssueEntry> {
  const labels = ['buildkit-release', ...(building ? ['build-in-progress'] : [])];
  return { title: title(version), state, labels, created_at: at(day) };
}

export interface Scenario {
  name: string;
  run(tool: Tool): Promise<void>;
}

const prereleases = Array.from({ length: 100 }, (_, k) => ({
  tag_name: `v0.35.0-rc.${k + 1}`,
  prerelease: true,
  created_at: `2026-11-${String(5 + Math.floor(k / 10)).padStart(2, '0')}T${String(k % 10).padStart(2, '0')}:00:00Z`,
}));

type PhaseState = 'green' | 'red' | 'skipped' | 'extended-skipped';

/**
 * Green, red, skipped or absent phases: a board's results.json as the reporter writes it.
 * `extended-skipped`: a check declared `extended` (beyond the issue's acceptance) skipped beside a green one.
 */
export function boardResults(ref: string, phases: Record<string, PhaseState>): RunResults {
  const phase = (name: string, state: PhaseState): PhaseResult => ({
    name,
    durationMs: 61_000,
    tests: [
      {
        name: `${name} › works`,
        file: `suites/${name}`,
        state: 'passed',
        durationMs: 1000,
        retries: 0,
        flaky: false,
        notes: [],
      },
      ...(state === 'green'
        ? []
        : [
            {
              name: `${name} › the other check`,
              file: `suites/${name}`,
              state: state === 'red' ? ('failed' as const) : ('skipped' as const),
              durationMs: 1000,
              retries: 0,
              flaky: false,
              notes: [],
              ...(state === 'extended-skipped' ? { serves: 'extended' } : {}),
              ...(state === 'red'
                ? {
                    message: 'Command failed with exit code 1: buildctl build',
                    details: 'host: runner@board  exit: 1\nstderr: no space left on device',
                  }
                : { skipReason: 'no uidmap on the target' }),
            },
          ]),
    ],
  });
  return {
    runId: 'r1',
    startedAt: '2026-11-23T02:17:00Z',
    durationMs: 600_000,
    properties: {
      'run.buildkit-ref': ref,
      'run.target-origin': 'local',
      'target.arch': 'riscv64',
      'target.kernel': '6.6.63',
      'target.cpu': 'SpacemiT X60 x8',
    },
    phases: Object.entries(phases).map(([n, st]) => phase(n, st)),
    errors: [],
  };
}

export const ALL_GREEN = {
  binaries: 'green',
  container: 'green',
  buildx: 'green',
  multiplatform: 'green',
  rootless: 'green',
  'release-tracking': 'green',
} as const;

/** When the nightly's run started, in the scenarios: before every board's results (2026-11-23T02:17:00Z). */
export const RUN_STARTED = '2026-11-23T02:00:00Z';

async function closeWith(
  tool: Tool,
  boards: Record<string, RunResults>,
  closed: number[] = [],
  notBefore = RUN_STARTED,
) {
  const { s, env, close } = await standin({
    upstream: RECORDED,
    issues: [207, 208, 209, 210].map((n) => ({
      number: n,
      title: `phase issue ${n}`,
      state: closed.includes(n) ? 'closed' : 'open',
    })) as Array<Partial<IssueEntry>>,
  });
  const files = [];
  for (const [board, results] of Object.entries(boards)) {
    const file = join(env.dir, `${board}.json`);
    await writeFile(file, JSON.stringify(results));
    files.push({ board, file });
  }
  const run = await tool.closeIssues(env, files, notBefore);
  const issue = (n: number) => project(s).issues.find((i) => i.number === n)!;
  return { s, run, issue, close };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'picks the highest vX.Y.Z across every page when the first page holds only prereleases',
    run: (tool) => expectNewBuild(tool, { upstream: [...RECORDED, ...prereleases] }, 'v0.34.2'),
  },
  {
    name: 'a backport published after a newer minor does not win',
    run: (tool) =>
      expectNewBuild(
        tool,
        {
          upstream: [
            ...RECORDED,
            { tag_name: 'v0.33.2', created_at: at('2026-11-20'), published_at: at('2026-11-20') },
          ],
        },
        'v0.34.2',
      ),
  },
  {
    name: 'a dockerfile/* frontend release, newest by date, is ignored',
    run: (tool) =>
      expectNewBuild(
        tool,
        {
          upstream: [
            ...RECORDED,
            {
              tag_name: 'dockerfile/1.26.0-labs',
              created_at: at('2026-11-21'),
              published_at: at('2026-11-21'),
            },
          ],
        },
        'v0.34.2',
      ),
  },
  {
    name: 'a draft newer than every release is ignored',
    run: (tool) =>
      expectNewBuild(
        tool,
        {
          upstream: [
            ...RECORDED,
            { tag_name: 'v0.35.0', draft: true, created_at: at('2026-11-22'), published_at: null },
          ],
        },
        'v0.34.2',
      ),
  },
  {
    name: 'versions compare as numbers: v0.26.20 is newer than v0.26.3',
    run: (tool) =>
      expectNewBuild(
        tool,
        {
          upstream: [
            { tag_name: 'v0.26.20', created_at: at('2026-03-01'), published_at: at('2026-03-01') },
            { tag_name: 'v0.26.3', created_at: at('2026-04-01'), published_at: at('2026-04-01') },
          ],
        },
        'v0.26.20',
      ),
  },
  {
    name: "an open issue for a version whose title is a prefix (v0.26.2 of v0.26.20) is not taken for this one's",
    run: (tool) =>
      expectNewBuild(
        tool,
        {
          upstream: [
            { tag_name: 'v0.26.2', created_at: at('2026-01-01'), published_at: at('2026-01-01') },
            { tag_name: 'v0.26.20', created_at: at('2026-03-01'), published_at: at('2026-03-01') },
          ],
          issues: [trackingIssue('v0.26.2', 'open', '2026-01-02', true)],
        },
        'v0.26.20',
      ),
  },
  {
    name: 'run twice, it dispatches one build and opens one issue',
    run: async (tool) => {
      await withStandin({ upstream: RECORDED }, async (s, env) => {
        for (let i = 0; i < 2; i++) expect((await tool.track(env)).exitCode).toBe(0);
        expect(project(s).dispatches).toHaveLength(1);
        expect(trackingIssues(s)).toHaveLength(1);
      });
    },
  },
  {
    name: 'a closed tracking issue means the release was built: nothing is dispatched or opened',
    run: async (tool) => {
      await withStandin(
        {
          upstream: RECORDED,
          issues: [trackingIssue('v0.34.2', 'closed', '2026-11-04')],
        },
        async (s, env) => {
          const run = await tool.track(env);
          expect(run.exitCode, run.stderr).toBe(0);
          expect(project(s).dispatches).toEqual([]);
          expect(trackingIssues(s)).toHaveLength(1);
        },
      );
    },
  },
  {
    name: "the build's completion closes the tracking issue naming the release and digest, and drops build-in-progress",
    run: async (tool) => {
      await withStandin({ upstream: RECORDED }, async (s, env) => {
        expect((await tool.track(env)).exitCode).toBe(0);
        const url = `https://github.com/${PROJECT}/releases/tag/buildkit-v0.34.2-riscv64`;
        const run = await tool.complete(env, 'v0.34.2', url, DIGEST);
        expect(run.exitCode, run.stderr).toBe(0);
        const [issue] = trackingIssues(s);
        expect(issue?.state).toBe('closed');
        expect(issue?.labels).not.toContain('build-in-progress');
        expect(issue?.comments.at(-1)?.body).toContain(url);
        expect(issue?.comments.at(-1)?.body).toContain(DIGEST);
      });
    },
  },
  {
    name: "completing v0.26.2 closes v0.26.2's issue, never v0.26.20's",
    run: async (tool) => {
      await withStandin(
        {
          upstream: RECORDED,
          issues: [
            trackingIssue('v0.26.2', 'open', '2026-01-02', true),
            trackingIssue('v0.26.20', 'open', '2026-03-02', true),
          ],
        },
        async (s, env) => {
          const run = await tool.complete(env, 'v0.26.2', 'https://example.invalid/r', DIGEST);
          expect(run.exitCode, run.stderr).toBe(0);
          const byTitle = (v: string) => project(s).issues.find((i) => i.title === title(v))!;
          expect(byTitle('v0.26.2').state).toBe('closed');
          expect(byTitle('v0.26.20').state).toBe('open');
          expect(byTitle('v0.26.20').comments).toEqual([]);
        },
      );
    },
  },
  {
    name: 'without a token it stops with one sentence; with a bad one GitHub refuses it, and the token is never printed',
    run: async (tool) => {
      await withStandin({ upstream: RECORDED }, async (s, env) => {
        const none = await tool.track({ ...env, token: undefined });
        expect(none.exitCode).toBe(2);
        expect(none.stderr).toMatch(/GITHUB_TOKEN/);
        const bad = await tool.track({ ...env, token: 'ghp_Wrong0123456789abcdefABCDEF0123456789' });
        expect(bad.exitCode).toBe(3);
        expect(bad.stderr).toMatch(/401/);
        for (const r of [none, bad]) expect(`${r.stdout}${r.stderr}`).not.toMatch(/ghp_Wrong|ghs_Rehearsal/);
        expect(project(s).dispatches).toEqual([]);
      });
    },
  },
  {
    name: 'every phase green on every board closes #207-#210 in order, each with the evidence',
    run: async (tool) => {
      const { run, issue, close, s } = await closeWith(tool, {
        'bpi-f3': boardResults('v0.33.1', ALL_GREEN),
        'bpi-f3-b': boardResults('v0.33.1', ALL_GREEN),
      });
      try {
        expect(run.exitCode, run.stderr).toBe(0);
        for (const n of [207, 208, 209, 210]) expect(issue(n).state, `#${n}`).toBe('closed');
        expect(issue(209).comments.at(-1)?.body).toMatch(/buildx: 1 passed, 0 failed, 0 skipped/);
        expect(issue(207).comments.at(-1)?.body).toContain('v0.33.1');
        expect(s.violations).toEqual([]);
      } finally {
        await close();
      }
    },
  },
  {
    name: 'a skipped check keeps its issue open, and the issues after it',
    run: async (tool) => {
      const { run, issue, close } = await closeWith(tool, {
        'bpi-f3': boardResults('v0.33.1', { ...ALL_GREEN, rootless: 'skipped' }),
      });
      try {
        expect(run.exitCode, run.stderr).toBe(0);
        expect([207, 208, 209, 210].map((n) => issue(n).state)).toEqual(['closed', 'closed', 'open', 'open']);
      } finally {
        await close();
      }
    },
  },
  {
    name: 'a skipped extended check keeps nothing open: #209 closes, and its comment lists the check as skipped, with why',
    run: async (tool) => {
      const { run, issue, close } = await closeWith(tool, {
        'bpi-f3': boardResults('v0.33.1', { ...ALL_GREEN, buildx: 'extended-skipped' }),
      });
      try {
        expect(run.exitCode, run.stderr).toBe(0);
        expect([207, 208, 209, 210].map((n) => issue(n).state)).toEqual([
          'closed',
          'closed',
          'closed',
          'closed',
        ]);
        expect(issue(209).comments.at(-1)?.body).toMatch(
          /extended[^\n]*\n\s+- skipped: buildx › the other check \(no uidmap on the target\)/,
        );
      } finally {
        await close();
      }
    },
  },
  {
    name: 'one red board keeps the issue open; a later red run reopens a closed one with the failing evidence',
    run: async (tool) => {
      const { run, issue, close } = await closeWith(
        tool,
        {
          a: boardResults('v0.33.1', ALL_GREEN),
          b: boardResults('v0.33.1', { ...ALL_GREEN, container: 'red' }),
        },
        [207, 208],
      );
      try {
        expect(run.exitCode, run.stderr).toBe(0);
        expect(issue(207).state).toBe('closed');
        expect(issue(208).state).toBe('open');
        expect(issue(208).comments.at(-1)?.body).toMatch(
          /the other check: Command failed with exit code 1[\s\S]*no space left/,
        );
        expect(issue(209).state).toBe('open');
      } finally {
        await close();
      }
    },
  },
  {
    name: "the closer trusts only board evidence: a lab run's results, a run with an error outside its checks, and results older than the workflow run each close nothing, each refused in one line",
    run: async (tool) => {
      const green = () => boardResults('v0.33.1', ALL_GREEN);
      const lab = { ...green(), properties: { ...green().properties, 'run.target-origin': 'lab' } };
      const errored = {
        ...green(),
        errors: ['global setup: the Docker engine on runner@board did not answer'],
      };
      const cases: Array<[string, Record<string, RunResults>, string, RegExp]> = [
        ['lab', { 'bpi-f3': green(), lab }, RUN_STARTED, /lab: refused: its results come from the lab/],
        [
          'errors',
          { 'bpi-f3': errored },
          RUN_STARTED,
          /bpi-f3: refused: the run has 1 error\(s\) outside its checks/,
        ],
        [
          'old',
          { 'bpi-f3': green() },
          '2026-11-24T02:00:00Z',
          /bpi-f3: refused: its results \(started 2026-11-23T02:17:00Z\) are older than this workflow run/,
        ],
      ];
      for (const [what, boards, notBefore, said] of cases) {
        const { run, issue, close, s } = await closeWith(tool, boards, [], notBefore);
        try {
          expect(run.exitCode, `${what}: ${run.stderr}`).toBe(0);
          for (const n of [207, 208, 209, 210]) expect(issue(n).state, `${what}: #${n}`).toBe('open');
          expect(run.stderr, what).toMatch(said);
          expect(s.violations).toEqual([]);
        } finally {
          await close();
        }
      }
    },
  },
];
