/**
 * This project's own GitHub repository and the image repository derived from it.
 *
 * Docker refuses upper-case repository names, and GitHub owners often have capitals: the default image
 * repository is `ghcr.io/<owner, lower-cased>/buildkit-riscv64`, the owner taken from Actions'
 * `GITHUB_REPOSITORY_OWNER` / `GITHUB_REPOSITORY`, else from the git remote `origin`. With neither, the
 * image gets a local name (`bka-local/buildkit-riscv64`) that is never pushed anywhere.
 */
import { execFileSync } from 'node:child_process';

export interface ProjectRepository {
  owner: string;
  name: string;
  /** https://github.com/OWNER/NAME, as the image's source label names it. */
  url: string;
}

export const LOCAL_IMAGE_REPOSITORY = 'bka-local/buildkit-riscv64';

/** OWNER/NAME from a GitHub remote URL (https, ssh or scp-like), else undefined. */
export function parseGitHubRemote(url: string): { owner: string; name: string } | undefined {
  const m = /github\.com[:/]+([^/\s]+)\/([^/\s]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m ? { owner: m[1]!, name: m[2]! } : undefined;
}

function gitRemote(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['-C', cwd, 'remote', 'get-url', 'origin'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  } catch {
    return undefined;
  }
}

export function projectRepository(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): ProjectRepository | undefined {
  const fromEnv = env.GITHUB_REPOSITORY?.split('/');
  const parsed =
    fromEnv?.length === 2 && fromEnv[0] && fromEnv[1]
      ? { owner: fromEnv[0], name: fromEnv[1] }
      : parseGitHubRemote(gitRemote(cwd) ?? '');
  const owner = env.GITHUB_REPOSITORY_OWNER || parsed?.owner;
  if (!owner) return undefined;
  const name = parsed?.name ?? 'buildkit-riscv64';
  return { owner, name, url: `https://github.com/${owner}/${name}` };
}

export function defaultImageRepository(repo: ProjectRepository | undefined): string {
  return repo ? `ghcr.io/${repo.owner.toLowerCase()}/buildkit-riscv64` : LOCAL_IMAGE_REPOSITORY;
}

/** Docker's grammar for a repository name: [host[:port]/]path, lower-case path components, no tag. */
const REPOSITORY =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Why Docker would refuse this repository name, or undefined when it is valid. */
export function imageRepositoryProblem(repository: string): string | undefined {
  if (REPOSITORY.test(repository)) return undefined;
  const lower = repository.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (REPOSITORY.test(lower)) return `Docker refuses upper-case letters in a repository name: use ${lower}`;
  return 'Docker refuses it: a repository is [registry[:port]/]path in lower case with no tag, e.g. ghcr.io/owner/buildkit-riscv64';
}
