/**
 * Writes the GitHub stand-in's API description: the operations it serves, sliced verbatim out of GitHub's
 * published REST description (`generated/api.github.com.json` of `@octokit/openapi`), with every
 * component they reference, and nothing else. The whole package is 385 MB (every GHES version, each
 * also dereferenced); installing it cost the board's `npm ci` minutes, and parsing its 13 MB on every
 * stand-in start cost release tracking as much again.
 *
 *   npx tsx scripts/github-api-subset.ts [--version 23.0.2] [--check]
 *
 * The package comes from the npm registry through `npm pack`, which checks the tarball's integrity
 * against the registry. `--check` rebuilds the slice and fails when the committed one differs.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { handlers } from '../automation/github-standin/handlers.ts';
import { SUBSET_FILE, type Subset, sliceDescription } from '../automation/github-standin/subset.ts';

const { values } = parseArgs({
  options: { version: { type: 'string' }, check: { type: 'boolean', default: false } },
});
const committed = existsSync(SUBSET_FILE)
  ? (JSON.parse(readFileSync(SUBSET_FILE, 'utf8')) as Subset)['x-sliced-from'].version
  : undefined;
const version = values.version ?? committed;
if (!version) throw new Error(`no ${SUBSET_FILE} yet: say which @octokit/openapi with --version`);
const dir = mkdtempSync(join(tmpdir(), 'github-api-subset-'));
try {
  const file = 'generated/api.github.com.json';
  const packed = execFileSync('npm', ['pack', `@octokit/openapi@${version}`, '--silent'], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
  execFileSync('tar', ['-xzf', packed, `package/${file}`], { cwd: dir });
  const text = readFileSync(join(dir, 'package', file));
  const sha256 = createHash('sha256').update(text).digest('hex');
  const subset = sliceDescription(JSON.parse(text.toString('utf8')), Object.keys(handlers), {
    package: '@octokit/openapi',
    version,
    file,
    sha256,
  });
  const out = `${JSON.stringify(subset, null, 1)}\n`;
  if (values.check) {
    if (out !== readFileSync(SUBSET_FILE, 'utf8')) {
      console.error(
        `github-api-subset: ${SUBSET_FILE} differs from the slice of ${version}; rerun without --check`,
      );
      process.exitCode = 1;
    } else console.log(`github-api-subset: ${SUBSET_FILE} is the slice of @octokit/openapi ${version}`);
  } else {
    writeFileSync(SUBSET_FILE, out);
    const ops = Object.values(subset.paths).flatMap((p) =>
      Object.values(p ?? {}).filter((op) => op && typeof op === 'object' && 'operationId' in op),
    ).length;
    console.log(
      `github-api-subset: wrote ${ops} operations of @octokit/openapi ${version} to ${SUBSET_FILE}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
