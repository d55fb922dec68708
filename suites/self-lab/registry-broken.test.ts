import { beforeAll, describe, expect } from 'vitest';
import { Lab } from '../../harness/lab/lab.ts';
import { loadConfig } from '../../harness/plan/config.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';
import { testNeeding } from '../self/fixtures/needs.ts';
import { labUnavailable } from './fixtures/lab-reason.ts';
import { runPhase } from './fixtures/phase-run.ts';

/**
 * The multi-platform checks that read back what was pushed must fail against a registry that loses
 * tags: the real phase against the lab, given the lab's registry as its push registry
 * (`--push-registry`, which the engine and the builders both reach), while this test deletes every tag
 * of the seed's repository as soon as it appears (by the registry's own DELETE of the manifest).
 */
const reason = labUnavailable();
const test = testNeeding(reason);

const PULL_CHECK =
  'multiplatform › worker=buildx-docker-container › each pushed variant pulls and runs: uname -m prints riscv64, x86_64 and aarch64';
const REPOSITORY = 'bka/multiplatform-seed';
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Deletes each tag of REPOSITORY it finds, every 300 ms, until stopped; returns what it deleted. */
function loseTags(registry: string): { stop: () => string[] } {
  const lost: string[] = [];
  const base = `http://${registry}/v2/${REPOSITORY}`;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const list = await fetch(`${base}/tags/list`);
      const tags = list.ok ? (((await list.json()) as { tags?: string[] | null }).tags ?? []) : [];
      for (const tag of tags) {
        const head = await fetch(`${base}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: ACCEPT } });
        const digest = head.headers.get('docker-content-digest');
        if (!digest) continue;
        const del = await fetch(`${base}/manifests/${digest}`, { method: 'DELETE' });
        if (del.ok) lost.push(`${tag}@${digest}`);
      }
    } catch {
      // the registry between answers: asked again on the next tick
    } finally {
      busy = false;
    }
  }, 300);
  return {
    stop: () => {
      clearInterval(timer);
      return lost;
    },
  };
}

describe('multiplatform phase against a registry that loses tags', () => {
  let registry = { fromHost: '', fromGuest: '' };
  beforeAll(async () => {
    if (reason) return;
    const ep = await new Lab(loadConfig().lab).up();
    registry = { fromHost: ep.registryFromHost, fromGuest: ep.registryFromGuest };
  });

  test(
    'the pushed variants do not pull back, and the check says which ref the registry did not have',
    async () => {
      const loser = loseTags(registry.fromHost);
      let lost: string[] = [];
      try {
        const run = await runPhase(
          [
            ...['--phase', 'multiplatform', '--push-registry', registry.fromGuest],
            ...['--grep', 'seed build|pushed variant'],
          ],
          await localTempDir('self-registry-loses'),
        );
        lost = loser.stop();
        expect(lost.length, `no tag was deleted:\n${run.output.slice(-3000)}`).toBeGreaterThan(0);
        expect(run.exitCode, run.output.slice(-3000)).toBe(1);
        expect(run.failed, run.output.slice(-3000)).toContain(PULL_CHECK);
        expect(run.failures[PULL_CHECK]).toContain(`${registry.fromGuest}/${REPOSITORY}:`);
        expect(run.failures[PULL_CHECK], run.failures[PULL_CHECK]).toMatch(/manifest unknown|not found/i);
        expect(run.passed).not.toContain(PULL_CHECK);
      } finally {
        loser.stop();
      }
    },
    25 * 60_000,
  );
});
