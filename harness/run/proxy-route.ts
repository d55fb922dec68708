/**
 * Where the builders on the target reach an HTTP proxy run by the suite (harness/target/http-proxy.ts):
 * - the lab: its VM reaches this machine at 10.0.2.2 (qemu's user network), so the proxy listens on
 *   127.0.0.1;
 * - a local target (the board running its own suite, as the nightly does): the builders are containers
 *   on Docker's default bridge, so the proxy listens on the bridge's gateway and allows its subnet;
 * - a target reached over SSH has no route back to this machine: the checks skip, saying so.
 */
import { existsSync } from 'node:fs';
import { BRIDGE_FORMAT, bridgeOf } from '../../helpers/docker-bridge.ts';
import { GUEST_HOST_ADDR } from '../lab/layout.ts';
import { TINYPROXY } from '../target/http-proxy.ts';
import type { Target } from '../target/target.ts';

export type ProxyRoute = { address: string; listen: string; allow: string[] } | { unreachable: string };

export async function proxyRoute(origin: 'local' | 'ssh' | 'lab', target: Target): Promise<ProxyRoute> {
  if (!existsSync(TINYPROXY))
    return {
      unreachable: `no ${TINYPROXY} on the machine running the suite (sudo apt-get install tinyproxy)`,
    };
  if (origin === 'lab') return { address: GUEST_HOST_ADDR, listen: '127.0.0.1', allow: [] };
  if (origin === 'ssh')
    return {
      unreachable:
        'a target reached over SSH has no route back to a proxy on the machine running the suite (run the suite on the target, as the nightly does)',
    };
  const r = await target.exec(['docker', 'network', 'inspect', 'bridge', '--format', BRIDGE_FORMAT], {
    reject: false,
    timeoutMs: 120_000,
  });
  if (r.failed) return { unreachable: `docker network inspect bridge failed: ${r.stderr.trim()}` };
  const bridge = bridgeOf(r.stdout);
  if ('missing' in bridge) return { unreachable: bridge.missing };
  return { address: bridge.gateway, listen: bridge.gateway, allow: [bridge.subnet] };
}
