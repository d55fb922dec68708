/**
 * Docker's default bridge, from `docker network inspect bridge --format` with BRIDGE_FORMAT: one
 * `SUBNET GATEWAY` line per IPAM entry. Containers on it (a Buildx docker-container builder, and so its
 * RUN steps) reach the host at the IPv4 gateway.
 */
export const BRIDGE_FORMAT = '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{"\\n"}}{{end}}';

export interface Bridge {
  subnet: string;
  gateway: string;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The IPv4 entry, or why there is none (an IPv6-only bridge, or an engine that says nothing). */
export function bridgeOf(stdout: string): Bridge | { missing: string } {
  for (const line of stdout.split('\n')) {
    const [subnet, gateway] = line.trim().split(/\s+/);
    if (subnet && gateway && IPV4.test(gateway) && subnet.includes('/')) return { subnet, gateway };
  }
  const seen = stdout.trim().replace(/\s+/g, ' ');
  return { missing: `Docker's default bridge has no IPv4 gateway (IPAM: ${seen || 'empty'})` };
}
