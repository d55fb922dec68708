/**
 * The multiplatform phase's index check against broken pushes, on a real registry (Debian's
 * docker-registry on this machine): a platform missing from the index, an entry whose image is for
 * another architecture than the index says, a platform listed twice, and a single-platform image.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { pushedImage } from '../../harness/docker/registry-http.ts';
import { type PlatformRootfs, pushMultiPlatformImage } from '../../harness/lab/oci-push.ts';
import { LocalTarget } from '../../harness/target/local-target.ts';
import { indexProblems } from '../../helpers/platform-index.ts';
import { type LocalRegistry, startLocalRegistry } from './fixtures/local-registry.ts';
import { needsTools, testNeeding } from './fixtures/needs.ts';

const missing = needsTools(
  ['docker-registry'],
  "a real registry to push to (Debian's docker-registry; scripts/setup.sh installs it on a lab host)",
);
const test = testNeeding(missing);

const ASKED = ['linux/riscv64', 'linux/amd64', 'linux/arm64'];
let local: LocalRegistry | undefined;

beforeAll(async () => {
  if (!missing) local = await startLocalRegistry();
});

afterAll(() => local?.stop());

const rootfs = (...args: Parameters<LocalRegistry['rootfs']>): PlatformRootfs => local!.rootfs(...args);

async function problemsOf(tag: string, platforms: PlatformRootfs[]): Promise<string[]> {
  await pushMultiPlatformImage(local!.addr, 'bka/index', tag, platforms);
  return indexProblems(await pushedImage(new LocalTarget(), `${local!.addr}/bka/index:${tag}`, true), ASKED);
}

describe('the pushed-index check', () => {
  test('accepts riscv64, amd64 and arm64/v8, each config for its platform', async () => {
    expect(await problemsOf('good', [rootfs('riscv64'), rootfs('amd64'), rootfs('arm64', 'v8')])).toEqual([]);
  });

  test('names a platform missing from the index', async () => {
    expect(await problemsOf('missing', [rootfs('riscv64'), rootfs('amd64')])).toEqual([
      'linux/arm64/v8 is missing from the index',
    ]);
  });

  test('names an entry whose image is for another architecture than the index says', async () => {
    const problems = await problemsOf('wrong-arch', [
      rootfs('riscv64'),
      rootfs('amd64'),
      rootfs('amd64', undefined, { architecture: 'arm64', variant: 'v8' }),
    ]);
    expect(problems).toEqual(["the index's linux/arm64/v8 entry is an image for linux/amd64 (its config)"]);
  });

  test('names a platform listed twice, and one not asked for', async () => {
    const problems = await problemsOf('twice', [
      rootfs('riscv64'),
      rootfs('amd64'),
      rootfs('arm64', 'v8'),
      rootfs('arm64', 'v8'),
      rootfs('s390x'),
    ]);
    expect(problems).toEqual([
      'the index lists linux/s390x, which was not asked for',
      'the index lists linux/arm64/v8 more than once',
    ]);
  });
});
