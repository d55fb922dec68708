/**
 * When the lab calls a booted guest settled (and so may start a run or hibernate it), on samples
 * captured from the lab VM: during an image build (apt-get at work), at idle, and while systemd boots.
 */
import { describe, expect, test } from 'vitest';
import { describeSample, parseSettleSample, settled } from '../../harness/lab/settle.ts';

// Captured from the lab VM on 2026-11-30 (2 vCPUs under TCG).
const BUILDING = 'state=running\njobs=0\nbusy=0.556\nload=2.77 6.45 6.87\ntop=apt-get x1; \n';
const IDLE = 'state=running\njobs=0\nbusy=0.041\nload=0.52 1.10 1.46\ntop=\n';
const BOOTING =
  'state=starting\njobs=7\nbusy=0.310\nload=4.68 2.10 0.80\ntop=dockerd x1; systemd-udevd x2; \n';

describe('a settled guest', () => {
  test('is one with no boot job left and its CPUs mostly idle; the sample says what ran', () => {
    expect(settled(parseSettleSample(IDLE))).toBe(true);
    const building = parseSettleSample(BUILDING);
    expect(settled(building)).toBe(false);
    expect(describeSample(building)).toBe(
      'systemd running, 0 job(s) queued, CPU 56 % busy, load average 2.77 6.45 6.87; running now: apt-get x1',
    );
    // Quiet CPUs do not make a boot finished: systemd's queued jobs do.
    expect(settled(parseSettleSample(BOOTING))).toBe(false);
    expect(describeSample(parseSettleSample(BOOTING))).toMatch(/^systemd starting, 7 job\(s\) queued/);
    // No answer is not settled.
    expect(settled(parseSettleSample(''))).toBe(false);
  });
});
