/**
 * The stand-in's state: repositories with their releases, issues, labels, comments and workflow
 * dispatches, loaded from a JSON file and written back after every change. Entries in the file may be
 * minimal (`{ "tag_name": "v0.26.2" }`); the stand-in fills in what GitHub's objects carry.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface ReleaseEntry {
  id: number;
  tag_name: string;
  name?: string | null;
  body?: string | null;
  draft?: boolean;
  prerelease?: boolean;
  target_commitish?: string;
  created_at?: string;
  published_at?: string | null;
}

export interface IssueEntry {
  number: number;
  title: string;
  body?: string | null;
  state: 'open' | 'closed';
  state_reason?: 'completed' | 'reopened' | 'not_planned' | null;
  labels: string[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  comments: Array<{ id: number; body: string; created_at: string }>;
}

export interface DispatchEntry {
  workflow_id: string;
  ref: string;
  inputs: Record<string, unknown>;
  at: string;
}

export interface RepoEntry {
  private?: boolean;
  releases: ReleaseEntry[];
  issues: IssueEntry[];
  labels: string[];
  workflows: string[];
  dispatches: DispatchEntry[];
}

export interface StandinState {
  /** Tokens the stand-in accepts (as `Authorization: Bearer|token <t>`). */
  tokens: string[];
  /** The login a token acts as. */
  login: string;
  repos: Record<string, RepoEntry>;
  nextId: number;
}

export function loadState(file: string): StandinState {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<StandinState>;
  const state: StandinState = {
    tokens: raw.tokens ?? [],
    login: raw.login ?? 'buildkit-riscv64-bot',
    repos: {},
    nextId: raw.nextId ?? 1000,
  };
  for (const [name, r] of Object.entries(raw.repos ?? {})) {
    const repo = r as Partial<RepoEntry>;
    state.repos[name] = {
      private: repo.private ?? false,
      releases: (repo.releases ?? []).map((x) => ({ ...x, id: x.id ?? state.nextId++ })),
      issues: (repo.issues ?? []).map((i) => ({
        ...i,
        state: i.state ?? 'open',
        labels: i.labels ?? [],
        comments: i.comments ?? [],
        created_at: i.created_at ?? '2026-01-01T00:00:00Z',
        updated_at: i.updated_at ?? i.created_at ?? '2026-01-01T00:00:00Z',
        closed_at: i.closed_at ?? (i.state === 'closed' ? '2026-01-02T00:00:00Z' : null),
      })),
      labels: repo.labels ?? [],
      workflows: repo.workflows ?? [],
      dispatches: repo.dispatches ?? [],
    };
  }
  return state;
}

export function saveState(file: string, state: StandinState): void {
  writeFileSync(`${file}.partial`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.partial`, file);
}
