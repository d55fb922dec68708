/**
 * The lock names each package's download address and digest: `npm ci` then fetches only the tarballs.
 * Without the addresses (npm's omit-lockfile-registry-resolved, as this project's machines are set),
 * npm asks the registry for every package's whole metadata first: 314 more requests, each document
 * parsed, which made the board rehearsal's `npm ci` take 8 min 20 s under TCG. The project's .npmrc
 * keeps them in every lock npm writes here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { version?: string; resolved?: string; integrity?: string; link?: boolean }>;
};

describe('package-lock.json', () => {
  test('every installed package has its tarball address and an sha512 integrity', () => {
    const installed = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.link);
    expect(installed.length).toBeGreaterThan(100);
    const missing = installed
      .filter(
        ([, p]) =>
          !/^https:\/\/registry\.npmjs\.org\/.+\.tgz$/.test(p.resolved ?? '') ||
          !p.integrity?.startsWith('sha512-'),
      )
      .map(([path]) => path);
    expect(missing).toEqual([]);
  });

  test("the project's .npmrc keeps the addresses in the locks npm writes", () => {
    const npmrc = readFileSync(new URL('../../.npmrc', import.meta.url), 'utf8');
    expect(npmrc).toMatch(/^omit-lockfile-registry-resolved=false$/m);
  });
});
