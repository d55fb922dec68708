/** Where a board's builders reach the suite's proxy: Docker's default bridge, as the engine reports it. */
import { describe, expect, test } from 'vitest';
import { bridgeOf } from '../../helpers/docker-bridge.ts';

describe("Docker's default bridge", () => {
  test('the IPv4 subnet and gateway, also when an IPv6 entry comes first', () => {
    // The lab's Docker 26.1.5, as `docker network inspect bridge --format BRIDGE_FORMAT` printed it.
    expect(bridgeOf('172.17.0.0/16 172.17.0.1\n\n')).toEqual({
      subnet: '172.17.0.0/16',
      gateway: '172.17.0.1',
    });
    expect(bridgeOf('fd00:dead:beef::/64 fd00:dead:beef::1\n172.18.0.0/16 172.18.0.1\n')).toEqual({
      subnet: '172.18.0.0/16',
      gateway: '172.18.0.1',
    });
  });

  test('an IPv6-only bridge, or an engine that reports no gateway, says so', () => {
    expect(bridgeOf('fd00::/64 fd00::1\n')).toEqual({
      missing: "Docker's default bridge has no IPv4 gateway (IPAM: fd00::/64 fd00::1)",
    });
    expect(bridgeOf('172.17.0.0/16 \n')).toEqual({
      missing: "Docker's default bridge has no IPv4 gateway (IPAM: 172.17.0.0/16)",
    });
    expect(bridgeOf('')).toEqual({ missing: "Docker's default bridge has no IPv4 gateway (IPAM: empty)" });
  });
});
