#!/usr/bin/env bash
# Build the lab VM's disk from a riscv64 minbase rootfs tarball: packages like the real runner's,
# an unprivileged `runner` user with the runner's sudo rules, sshd with a pinned host key.
# IMAGE_STORE is Docker's image store (classic or containerd); FROM_SUITE and FROM_PACKAGES (comma-separated)
# name packages taken from another Debian suite (the lab's sid-containerd Docker), or are '-'.
# usage: vm-image.sh MINBASE.tar MIRROR SUITE OUTDIR SSHDIR REGISTRY_ADDR DISK_SIZE IMAGE_STORE FROM_SUITE FROM_PACKAGES PACKAGES...
set -euo pipefail
minbase=$1 mirror=$2 suite=$3 out=$4 sshdir=$5 registry=$6 disk_size=$7 image_store=$8 from_suite=$9 from_packages=${10}
shift 10
packages=("$@")

work=$(mktemp -d "${out}.work.XXXXXX")
root=$work/root
cleanup() {
  for m in dev/pts dev proc sys; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true; done
  # Never into a mount that is still there (the host's /dev is bound in the tree).
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
# Killed (the lab's start interrupted): still the EXIT trap.
trap 'exit 143' TERM INT HUP
mkdir -p "$root"
tar --numeric-owner -C "$root" -xf "$minbase"

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"

# Small initramfs: only what the virt machine needs to find its root disk.
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo 'MODULES=list' > "$root/etc/initramfs-tools/conf.d/lab.conf"
mkdir -p "$root/etc/initramfs-tools"
printf '%s\n' virtio_mmio virtio_blk virtio_net virtio_pci ext4 > "$root/etc/initramfs-tools/modules"

in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
# dpkg under qemu-user is the fresh lab's longest step: no fsync per unpacked file (the disk is made
# once and thrown away whole on failure), and no manuals, documentation or translations to unpack
# (no check reads them). Kept in the VM: its own apt-get runs (Node for the board rehearsal) gain too.
cat > "$root/etc/dpkg/dpkg.cfg.d/lab-speed" <<'CFG'
force-unsafe-io
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/locale/*
CFG
# The host's own certificate authorities (a board has its own trust store): TLS from the VM to the
# package registries goes through this machine's network. Placed before the packages, so that
# ca-certificates' own postinst adds them (one rehash, ~30 s under qemu-user); npm uses the system bundle.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > "$root/etc/npmrc"
fi
# One initramfs, made once every package is in: the kernel's hook and each later trigger would make it
# again (~1 min each under qemu-user), so update-initramfs is a no-op meanwhile (diverted, restored below).
in_root dpkg-divert --local --quiet --rename --divert /usr/sbin/update-initramfs.lab-build --add /usr/sbin/update-initramfs
printf '#!/bin/sh\nexit 0\n' > "$root/usr/sbin/update-initramfs"; chmod +x "$root/usr/sbin/update-initramfs"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" > "$work/apt.log" 2>&1 || {
  tail -n 40 "$work/apt.log" >&2; echo "lab: installing the VM's packages failed" >&2; exit 1; }
# Packages of another suite (sid's Docker): its index is fetched and verified by apt against Debian's
# archive key like any other, used for these packages only, then removed, so that the VM's apt (and the
# lab's Debian mirror, which serves the disk's own index) knows only the lab's suite.
if [ "$from_suite" != - ]; then
  printf '%s\n' 'Types: deb' "URIs: $mirror" "Suites: $from_suite" 'Components: main' \
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$root/etc/apt/sources.list.d/lab-$from_suite.sources"
  in_root apt-get update -qq
  IFS=, read -r -a from < <(printf '%s' "$from_packages")
  in_root apt-get install -y -qq --no-install-recommends -t "$from_suite" "${from[@]}" > "$work/apt-$from_suite.log" 2>&1 || {
    tail -n 40 "$work/apt-$from_suite.log" >&2; echo "lab: installing ${from[*]} from $from_suite failed" >&2; exit 1; }
  rm -f "$root/etc/apt/sources.list.d/lab-$from_suite.sources" "$root"/var/lib/apt/lists/*_dists_"${from_suite}"_*
fi
rm -f "$root/usr/sbin/policy-rc.d"
rm -f "$root/usr/sbin/update-initramfs"
in_root dpkg-divert --local --quiet --rename --remove /usr/sbin/update-initramfs
kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
in_root update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 || {
  tail -n 20 "$work/initramfs.log" >&2; echo "lab: making the initramfs failed" >&2; exit 1; }
# Each host CA is in the bundle (ca-certificates' postinst took them); else they are added now.
for c in "$root"/usr/local/share/ca-certificates/*.crt; do
  [ -e "$c" ] || continue
  grep -qF "$(sed -n 2p "$c")" "$root/etc/ssl/certs/ca-certificates.crt" || { in_root update-ca-certificates >/dev/null; break; }
done

# Identity, disk, network.
echo lab-riscv64 > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lab-riscv64\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$root/etc/fstab"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=e*\n\n[Network]\nDHCP=yes\n' > "$root/etc/systemd/network/10-lab.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
rm -f "$root/etc/resolv.conf"; echo 'nameserver 10.0.2.3' > "$root/etc/resolv.conf"
in_root systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer logrotate.timer dpkg-db-backup.timer 2>/dev/null || true

# The first boot's own work, done here (under qemu-user, seconds) instead of in the booted guest under
# TCG: the units whose ConditionNeedsUpdate= holds while /etc and /var are older than /usr (ldconfig,
# the journal catalog, sysusers, hwdb), then the stamps that say it is done (systemd-update-done).
in_root ldconfig
in_root journalctl --update-catalog
in_root systemd-sysusers
in_root systemd-hwdb update
in_root /usr/lib/systemd/systemd-update-done

# The runner's kind of user: docker group, sudo only for package and service tools.
in_root useradd -m -u 1000 -s /bin/bash -G docker runner
printf 'runner ALL=(root) NOPASSWD: /usr/bin/apt-get, /usr/bin/apt, /usr/bin/dpkg, /usr/bin/systemctl, /usr/bin/docker\n' > "$root/etc/sudoers.d/runner"
chmod 0440 "$root/etc/sudoers.d/runner"
grep -q '^runner:' "$root/etc/subuid" 2>/dev/null || echo 'runner:100000:65536' >> "$root/etc/subuid"
grep -q '^runner:' "$root/etc/subgid" 2>/dev/null || echo 'runner:100000:65536' >> "$root/etc/subgid"
in_root loginctl enable-linger runner 2>/dev/null || { mkdir -p "$root/var/lib/systemd/linger"; touch "$root/var/lib/systemd/linger/runner"; }

# SSH: the client key may log in as runner; the host key is the one the harness pins.
install -d -m 700 -o 1000 -g 1000 "$root/home/runner/.ssh"
install -m 600 -o 1000 -g 1000 "$sshdir/id_ed25519.pub" "$root/home/runner/.ssh/authorized_keys"
rm -f "$root"/etc/ssh/ssh_host_*
install -m 600 "$sshdir/ssh_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 644 "$sshdir/ssh_host_ed25519_key.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
cat > "$root/etc/ssh/sshd_config.d/lab.conf" <<CONF
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 10
CONF

# tinyproxy as doctor tells a board's owner to have it: the package, not its own service (the suite
# runs its own proxy, and the package's would hold port 8888).
in_root systemctl disable tinyproxy.service 2>/dev/null || true
# The runner's Go build cache, as a board's runner has it after its first night: the standard library the
# suite's Go fixtures import (fixtures/), compiled with their flags. Under qemu-user here, a minute; on
# the booted guest under TCG, the first fixture build's 10+ minutes. Only a cache: nothing is kept but
# what Go's own cache keys, and a failure here leaves it cold.
if [ -x "$root/usr/bin/go" ]; then
  mkdir -p "$root/tmp/go-warm"
  printf '%s\n' 'package main' 'import (' '_ "crypto/sha256"' '_ "encoding/hex"' '_ "fmt"' '_ "os"' \
    '_ "os/exec"' '_ "strconv"' '_ "sync"' '_ "syscall"' ')' 'func main() {}' > "$root/tmp/go-warm/main.go"
  # Only what the runner's own environment has: none of this machine's cache or Go settings.
  chroot --userspec=1000:1000 "$root" env -i PATH=/usr/bin:/bin HOME=/home/runner \
    GOCACHE=/home/runner/.cache/go-build CGO_ENABLED=0 GOOS=linux GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath -o /dev/null /tmp/go-warm/main.go > "$work/go-warm.log" 2>&1 ||
    { echo "lab: warming the runner's Go build cache failed (left cold):"; tail -n 5 "$work/go-warm.log"; } >&2
  rm -rf "$root/tmp/go-warm"
fi

# Docker: pull docker.io images through the lab's registry on the host (10.0.2.2 from the guest); the
# image store the flavour asks for.
mkdir -p "$root/etc/docker"
bash "$(dirname "$0")/daemon-json.sh" "$registry" "$image_store" > "$root/etc/docker/daemon.json"

# Emulators for BuildKit's foreign RUN steps: register with the F flag (fix binary) so they work in containers.
mkdir -p "$root/etc/binfmt.d"
for f in "$root"/usr/lib/binfmt.d/qemu-*.conf; do
  [ -e "$f" ] || continue
  name=$(basename "$f")
  sed -E 's/:([A-Z]*)$/:\1F/; s/:([A-Z]*)F+([A-Z]*)F$/:\1F\2/' "$f" > "$root/etc/binfmt.d/$name"
done

# Kernel and initrd for qemu's -kernel/-initrd.
mkdir -p "$out.partial"
cp "$root/boot/vmlinux-$kver" "$out.partial/vmlinux" 2>/dev/null || cp "$root/boot/vmlinuz-$kver" "$out.partial/vmlinux"
cp "$root/boot/initrd.img-$kver" "$out.partial/initrd.img"
echo "$kver" > "$out.partial/kernel-version"
in_root dpkg-query -W -f='${Package} ${Version}\n' > "$out.partial/packages.txt"

for m in dev/pts dev proc sys; do umount -l "$root/$m"; done
rm -rf "$root"/var/cache/apt/archives/*.deb
mkfs.ext4 -q -F -L labroot -d "$root" "$out.partial/disk.img" "$disk_size"
rm -rf "$out"; mv "$out.partial" "$out"
echo "lab: VM image ready (kernel $kver)"
