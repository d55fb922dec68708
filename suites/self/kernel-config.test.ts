/** The kernel options containers need, read from the target's kernel configuration. */
import { describe, expect, test } from 'vitest';
import { describeMissing, KERNEL_OPTIONS, parseKernelConfig } from '../../helpers/kernel-config.ts';

/** The probe's output for the lab's kernel (Debian trixie's 6.12.117 riscv64 /boot/config), 2026-11-30. */
const LAB = `source:/boot/config-6.12.117+deb13-riscv64
CONFIG_POSIX_MQUEUE=y
CONFIG_BPF_SYSCALL=y
CONFIG_CGROUPS=y
CONFIG_MEMCG=y
CONFIG_CGROUP_PIDS=y
CONFIG_CPUSETS=y
CONFIG_CGROUP_BPF=y
CONFIG_NAMESPACES=y
CONFIG_UTS_NS=y
CONFIG_IPC_NS=y
CONFIG_USER_NS=y
CONFIG_PID_NS=y
CONFIG_NET_NS=y
CONFIG_SECCOMP=y
CONFIG_SECCOMP_FILTER=y
CONFIG_BINFMT_MISC=m
CONFIG_BRIDGE_NETFILTER=m
CONFIG_NF_NAT=m
CONFIG_NF_TABLES=m
CONFIG_NFT_COMPAT=m
CONFIG_NETFILTER_XT_MATCH_ADDRTYPE=m
CONFIG_NETFILTER_XT_MATCH_CONNTRACK=m
CONFIG_IP_NF_FILTER=m
CONFIG_IP_NF_NAT=m
CONFIG_IP_NF_TARGET_MASQUERADE=m
CONFIG_BRIDGE=m
CONFIG_VETH=m
CONFIG_OVERLAY_FS=m
CONFIG_KEYS=y
`;

describe('kernel configuration', () => {
  test("the lab's Debian kernel has every option, built in or as a module", () => {
    const config = parseKernelConfig(LAB);
    expect(config.source).toBe('/boot/config-6.12.117+deb13-riscv64');
    expect(config.missing).toEqual([]);
  });

  test('a vendor kernel without br_netfilter, nf_tables and cgroup BPF names each, with what breaks', () => {
    const vendor = LAB.replace('CONFIG_BRIDGE_NETFILTER=m\n', '')
      .replace('CONFIG_NF_TABLES=m', '# CONFIG_NF_TABLES is not set')
      .replace('CONFIG_CGROUP_BPF=y\n', '');
    expect(describeMissing(parseKernelConfig(vendor))).toEqual([
      `CONFIG_CGROUP_BPF is not set: ${KERNEL_OPTIONS.CONFIG_CGROUP_BPF}`,
      `CONFIG_BRIDGE_NETFILTER is not set: ${KERNEL_OPTIONS.CONFIG_BRIDGE_NETFILTER}`,
      `CONFIG_NF_TABLES is not set: ${KERNEL_OPTIONS.CONFIG_NF_TABLES}`,
    ]);
  });

  test('a kernel whose configuration cannot be read says so, and claims nothing missing', () => {
    expect(parseKernelConfig('source:none\n')).toEqual({ source: undefined, missing: [] });
    expect(parseKernelConfig('')).toEqual({ source: undefined, missing: [] });
  });
});
