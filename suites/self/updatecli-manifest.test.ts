import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

/**
 * updatecli cannot be installed here (the Go module proxy refuses it) and its JSON schema cannot be
 * fetched, so the manifest is held to the structure updatecli's documentation gives (root keys; the
 * githubrelease, file and github kinds) and to this repository: its target must match the pinned ref
 * exactly once, so a rename of DEFAULT_BUILDKIT_REF breaks this test, not the bump.
 */
interface Resource {
  kind: string;
  spec: Record<string, unknown>;
  sourceid?: string;
  scmid?: string;
}
type Manifest = Record<string, unknown> &
  Record<'scms' | 'sources' | 'targets' | 'actions', Record<string, Resource>>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = parse(
  readFileSync(`${ROOT}updatecli/updatecli.d/buildkit-default-ref.yaml`, 'utf8'),
) as Manifest;

const ROOT_KEYS = [
  'name',
  'pipelineid',
  'id',
  'dependson',
  'labels',
  'version',
  'title',
  'scms',
  'sources',
  'conditions',
  'targets',
  'actions',
  'autodiscovery',
];
const SPEC_KEYS: Record<string, string[]> = {
  githubrelease: [
    'owner',
    'repository',
    'token',
    'username',
    'url',
    'typefilter',
    'versionfilter',
    'key',
    'tag',
    'app',
  ],
  file: [
    'file',
    'files',
    'matchpattern',
    'replacepattern',
    'content',
    'forcecreate',
    'line',
    'searchpattern',
    'template',
  ],
  github: [
    'owner',
    'repository',
    'branch',
    'username',
    'token',
    'url',
    'directory',
    'email',
    'user',
    'force',
    'commitmessage',
    'submodules',
    'app',
  ],
  'github/pullrequest': [
    'labels',
    'title',
    'description',
    'draft',
    'automerge',
    'mergemethod',
    'reviewers',
    'assignees',
    'maintainercannotmodify',
    'parent',
    'usetitleforautomerge',
  ],
};

describe('the updatecli manifest', () => {
  test('uses only the root keys and resource keys updatecli documents', () => {
    expect(Object.keys(manifest).filter((k) => !ROOT_KEYS.includes(k))).toEqual([]);
    expect(manifest.name).toBeTruthy();
    for (const section of ['scms', 'sources', 'targets', 'actions']) {
      for (const [id, r] of Object.entries(manifest[section as 'scms'])) {
        expect(Object.keys(SPEC_KEYS), `${section}.${id}.kind`).toContain(r.kind);
        expect(
          Object.keys(r.spec).filter((k) => !SPEC_KEYS[r.kind]!.includes(k)),
          `${section}.${id}.spec`,
        ).toEqual([]);
      }
    }
  });

  test('takes the highest release by version, never by date, and only full releases', () => {
    const source = manifest.sources.buildkit!.spec;
    expect(source).toMatchObject({
      owner: 'moby',
      repository: 'buildkit',
      versionfilter: { kind: 'semver' },
    });
    expect(source.typefilter).toEqual({ draft: false, prerelease: false, release: true });
  });

  test('its target matches the pinned default ref in harness/plan/config.ts exactly once, and every id it names exists', () => {
    const target = manifest.targets['default-ref']!;
    const text = readFileSync(`${ROOT}${target.spec.file as string}`, 'utf8');
    expect(text.match(new RegExp(target.spec.matchpattern as string, 'g'))).toHaveLength(1);
    expect(Object.keys(manifest.sources)).toContain(target.sourceid);
    expect(Object.keys(manifest.scms)).toContain(target.scmid);
    expect(Object.keys(manifest.scms)).toContain(manifest.actions['pull-request']!.scmid);
  });
});
