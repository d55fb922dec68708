#!/usr/bin/env bash
# Prepare this (x86-64) machine to build and run the lab: Debian packages and binfmt_misc.
# Idempotent. Needs root (apt-get, mount, /proc/sys/fs/binfmt_misc).
set -euo pipefail

PACKAGES=(qemu-user-static binfmt-support debootstrap docker-registry e2fsprogs openssh-client pigz xz-utils gpg gpgv debian-archive-keyring)
# qemu 10 or later: its TCG runs the lab's riscv64 guest faster than 7.2 (this project's CI machine, the
# same VM disk: boot to Docker 45 s -> 33 s, 300 execs 7.3 s -> 2.3 s, 20 `dpkg -s` 3.5 s -> 1.4 s). From
# 10 on, Debian ships the riscv64 system emulator as qemu-system-riscv. Debian 12's own qemu is 7.2; its
# backports suite (signed by the same archive key) has 10.0. qemu-user stays the suite's own: qemu-user 10
# runs the VM disk's riscv64 chroot slower than 7.2 (a shell loop 1.3x, the VM disk 5 min 13 s -> 7 min 24 s).
QEMU=(qemu-system-riscv qemu-system-data opensbi qemu-utils)
QEMU_MAJOR=10
# Where no qemu 10 is to be had: the packages of qemu before 10.
QEMU_OLD=(qemu-system-misc opensbi qemu-utils)

if [ "$(id -u)" != 0 ]; then
  echo "lab: preparing the host needs root (apt-get, binfmt_misc); run as root or install: ${PACKAGES[*]}" >&2
  exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "lab: installing host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Empty when there is no qemu-system-riscv64 yet (a fresh machine): with pipefail, the missing command's 127
# would otherwise end the script here.
qemu_major() {
  { qemu-system-riscv64 --version 2>/dev/null || true; } | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p'
}
major=$(qemu_major)
if [ "${major:-0}" -lt "$QEMU_MAJOR" ]; then
  # shellcheck source=/dev/null
  . /etc/os-release
  from=()
  if [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "lab: adding Debian's bookworm-backports (signed by the archive key) for qemu $QEMU_MAJOR"
      printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
        'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
        > /etc/apt/sources.list.d/bookworm-backports.sources
    fi
    from=(-t bookworm-backports)
  fi
  echo "lab: installing qemu $QEMU_MAJOR: ${QEMU[*]} ${from[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! apt-get install -y -qq --no-install-recommends "${from[@]}" "${QEMU[@]}" >/dev/null; then
    [ -n "$(qemu_major)" ] || apt-get install -y -qq --no-install-recommends "${QEMU_OLD[@]}" >/dev/null
    echo "lab: qemu $QEMU_MAJOR could not be installed; the lab runs on qemu $(qemu_major) (slower)" >&2
  fi
fi

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || {
    echo "lab: binfmt_misc is not available on this kernel; debootstrap of foreign architectures needs it" >&2
    exit 2
  }
fi

# Register qemu-user with flag F (interpreter opened at registration) so it works inside chroots. The
# kernel keeps the file it opened: when the interpreter was replaced since (a qemu upgrade), it is
# registered again (the stamp in /run, gone with the registrations at reboot, says which file it opened).
register() {
  local arch=$1 entry=/proc/sys/fs/binfmt_misc/qemu-$1 bin=/usr/bin/qemu-$1-static
  local stamp=/run/buildkit-acceptance-binfmt-qemu-$arch
  local id; id=$(stat -L -c '%i %Y %s' "$bin")
  if [ -e "$entry" ] && grep -q '^flags: .*F' "$entry" && grep -q "qemu-$arch-static" "$entry" \
    && [ "$(cat "$stamp" 2>/dev/null)" = "$id" ]; then return 0; fi
  local magic mask spec=/usr/share/binfmts/qemu-$arch conf=/usr/lib/binfmt.d/qemu-$arch.conf
  if [ -f "$spec" ]; then
    # binfmt-support's format (qemu before 10)
    magic=$(awk '$1=="magic"{print $2}' "$spec")
    mask=$(awk '$1=="mask"{print $2}' "$spec")
  else
    # systemd-binfmt's (qemu 10): :name:M::magic:mask:interpreter:flags
    magic=$(cut -d: -f5 "$conf")
    mask=$(cut -d: -f6 "$conf")
  fi
  [ -e "$entry" ] && echo -1 > "$entry"
  printf ':qemu-%s:M::%s:%s:%s:OCF' "$arch" "$magic" "$mask" "$bin" > /proc/sys/fs/binfmt_misc/register
  echo "$id" > "$stamp"
}
register riscv64
register aarch64
echo "lab: host ready"
