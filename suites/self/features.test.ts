/**
 * Capability skips decided from the target's facts: each missing piece gives its exact cause, as the
 * report will show it (`needs <feature>: <why>`).
 */
import { describe, expect, test } from 'vitest';
import { parseFacts } from '../../harness/docker/facts.ts';
import { missingFeature } from '../../harness/sandbox/features.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Facts as the probe prints them (`key=base64`), with the given overrides. */
function facts(values: Record<string, string>) {
  const base: Record<string, string> = {
    uid: '1000',
    user: 'runner',
    cgroup: 'cgroup2fs',
    userns: '1:15000:0',
  };
  const lines = Object.entries({ ...base, ...values }).map(([k, v]) => `${k}=${b64(v)}`);
  return parseFacts('runner@board:22', lines.join('\n'));
}

describe('capability skips', () => {
  test('a binfmt_misc entry without the F flag, disabled, or absent, each says so', () => {
    const entry = (flags: string, state = 'enabled') => `qemu-x86_64|${state}|/usr/bin/qemu-x86_64|${flags};`;
    expect(missingFeature(facts({ binfmt: entry('POCF') }), 'binfmt:linux/amd64')).toBeUndefined();
    expect(missingFeature(facts({ binfmt: entry('PO') }), 'binfmt:linux/amd64')).toBe(
      "the binfmt_misc entry qemu-x86_64 lacks the F flag (flags 'PO'): emulation fails inside containers",
    );
    expect(missingFeature(facts({ binfmt: entry('POF', 'disabled') }), 'binfmt:linux/amd64')).toBe(
      'the binfmt_misc entry qemu-x86_64 is disabled',
    );
    expect(missingFeature(facts({ binfmt: entry('POF') }), 'binfmt:linux/arm64')).toBe(
      'no binfmt_misc entry for linux/arm64 (qemu-aarch64) on runner@board:22',
    );
  });

  test('rootless and systemd carry the probe’s exact cause, and are there when it found none', () => {
    const missing = facts({
      rootless: 'no range for runner in /etc/subuid (add one: usermod --add-subuids/--add-subgids)',
      systemd: 'runner may not run systemctl through sudo without a password',
    });
    expect(missingFeature(missing, 'rootless')).toBe(
      'no range for runner in /etc/subuid (add one: usermod --add-subuids/--add-subgids)',
    );
    expect(missingFeature(missing, 'systemd')).toBe(
      'runner may not run systemctl through sudo without a password',
    );
    const ready = facts({});
    expect(missingFeature(ready, 'rootless')).toBeUndefined();
    expect(missingFeature(ready, 'systemd')).toBeUndefined();
  });
});
