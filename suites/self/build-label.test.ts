import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildLabel } from '../../harness/run/build-label.ts';
import { localTempDir } from '../../harness/target/local-temp.ts';

describe("the report's build line", () => {
  test('says how given binaries were built, from their manifest, not how this run would build them', async () => {
    expect(buildLabel('cross-compiled (lab)', undefined)).toBe('cross-compiled (lab)');
    const dir = await localTempDir('self-build-label');
    expect(buildLabel('cross-compiled (lab)', dir)).toBe('given (--binaries)');
    await mkdir(join(dir, 'bin'));
    const manifest = { mode: 'native', hostArch: 'riscv64', goVersion: 'go1.27.1' };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const want = 'given (--binaries): native on linux/riscv64 with go1.27.1';
    expect(buildLabel('cross-compiled (lab)', dir)).toBe(want);
    expect(buildLabel('cross-compiled (lab)', join(dir, 'bin'))).toBe(want);
    await writeFile(join(dir, 'manifest.json'), '{');
    expect(buildLabel('native', dir)).toBe('given (--binaries): its manifest.json is not JSON');
  });
});
