/**
 * The kernel options containers, BuildKit and this suite's checks rely on, read from the target's kernel
 * configuration (/proc/config.gz, else /boot/config-$(uname -r)). Vendor riscv64 kernels often lack
 * some (reports from riscv64 boards: `cgroup.subtree_control: Invalid argument` without
 * CONFIG_CGROUP_BPF, `iptables: Failed to initialize nft: Protocol not supported` without nf_tables,
 * bridged containers without br_netfilter). Each option says what breaks without it.
 */
export const KERNEL_OPTIONS: Readonly<Record<string, string>> = {
  CONFIG_NAMESPACES: 'no container can start (namespaces)',
  CONFIG_NET_NS: 'containers get no network namespace',
  CONFIG_PID_NS: 'containers get no PID namespace',
  CONFIG_IPC_NS: 'containers get no IPC namespace',
  CONFIG_UTS_NS: 'containers get no UTS namespace',
  CONFIG_USER_NS: 'rootless BuildKit and user-namespaced containers cannot run',
  CONFIG_CGROUPS: 'no resource control for containers',
  CONFIG_CGROUP_BPF: 'cgroup v2 device control fails (runc: cgroup.subtree_control: Invalid argument)',
  CONFIG_CGROUP_PIDS: 'pids limits fail',
  CONFIG_MEMCG: 'memory limits fail',
  CONFIG_CPUSETS: 'cpuset limits fail',
  CONFIG_BPF_SYSCALL: 'cgroup v2 device filters cannot load',
  CONFIG_SECCOMP: 'no seccomp profile can be applied',
  CONFIG_SECCOMP_FILTER: 'no seccomp profile can be applied',
  CONFIG_KEYS: 'runc cannot create a session keyring per container',
  CONFIG_POSIX_MQUEUE: 'containers get no POSIX message queues',
  CONFIG_OVERLAY_FS: 'no overlayfs: Docker and BuildKit fall back to slow snapshotters',
  CONFIG_VETH: 'bridged containers get no network interface',
  CONFIG_BRIDGE: "Docker's default bridge cannot be created",
  CONFIG_BRIDGE_NETFILTER: 'bridged traffic bypasses iptables (Docker warns, published ports misbehave)',
  CONFIG_NF_NAT: 'containers get no outbound NAT',
  CONFIG_NF_TABLES: 'iptables (nft) fails: Failed to initialize nft: Protocol not supported',
  CONFIG_NFT_COMPAT: "iptables' xt matches fail on nf_tables",
  CONFIG_IP_NF_FILTER: "Docker's iptables filter rules fail",
  CONFIG_IP_NF_NAT: "Docker's iptables NAT rules fail",
  CONFIG_IP_NF_TARGET_MASQUERADE: 'containers get no masquerade to the outside',
  CONFIG_NETFILTER_XT_MATCH_ADDRTYPE: "Docker's published ports fail (addrtype match)",
  CONFIG_NETFILTER_XT_MATCH_CONNTRACK: "Docker's forwarding rules fail (conntrack match)",
  CONFIG_BINFMT_MISC: 'no emulation of other platforms (multi-platform builds)',
};

/** The probe's shell: `source:WHERE` then each listed option's line, or `source:none`. */
export const KERNEL_CONFIG_PROBE = `src=none
if [ -r /proc/config.gz ] && command -v zcat >/dev/null; then src=/proc/config.gz; cat_cfg() { zcat /proc/config.gz; }
elif [ -r "/boot/config-$(uname -r)" ]; then src="/boot/config-$(uname -r)"; cat_cfg() { cat "/boot/config-$(uname -r)"; }
fi
echo "source:$src"
[ "$src" = none ] || cat_cfg | grep -E '^(${Object.keys(KERNEL_OPTIONS).join('|')})='`;

export interface KernelConfig {
  /** Where it was read, or undefined when the kernel's configuration is not readable. */
  source: string | undefined;
  /** The listed options that are neither built in nor a module, with what breaks. */
  missing: Array<{ option: string; why: string }>;
}

export function parseKernelConfig(probeOutput: string): KernelConfig {
  const lines = probeOutput.split('\n').map((l) => l.trim());
  const source = /^source:(.+)$/.exec(lines[0] ?? '')?.[1];
  if (!source || source === 'none') return { source: undefined, missing: [] };
  const set = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(l);
    if (m) set.set(m[1]!, m[2]!);
  }
  const missing = Object.entries(KERNEL_OPTIONS)
    .filter(([option]) => !['y', 'm'].includes(set.get(option) ?? ''))
    .map(([option, why]) => ({ option, why }));
  return { source, missing };
}

/** One line per missing option, as a failure names it. */
export function describeMissing(config: KernelConfig): string[] {
  return config.missing.map(({ option, why }) => `${option} is not set: ${why}`);
}
