#!/usr/bin/env bash
# Prepare this (x86-64) machine to build and run the lab: Debian packages and binfmt_misc.
# Idempotent. Needs root (apt-get, mount, /proc/sys/fs/binfmt_misc).
set -euo pipefail

PACKAGES=(qemu-system-misc opensbi qemu-utils qemu-user-static binfmt-support debootstrap
  docker-registry e2fsprogs openssh-client pigz xz-utils gpg gpgv debian-archive-keyring)

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

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || {
    echo "lab: binfmt_misc is not available on this kernel; debootstrap of foreign architectures needs it" >&2
    exit 2
  }
fi

# Register qemu-user with flag F (interpreter opened at registration) so it works inside chroots.
register() {
  local arch=$1 spec=/usr/share/binfmts/qemu-$1 entry=/proc/sys/fs/binfmt_misc/qemu-$1
  if [ -e "$entry" ] && grep -q '^flags: .*F' "$entry" && grep -q "qemu-$arch-static" "$entry"; then return 0; fi
  local magic mask
  magic=$(awk '$1=="magic"{print $2}' "$spec")
  mask=$(awk '$1=="mask"{print $2}' "$spec")
  [ -e "$entry" ] && echo -1 > "$entry"
  printf ':qemu-%s:M::%s:%s:/usr/bin/qemu-%s-static:OCF' "$arch" "$magic" "$mask" "$arch" > /proc/sys/fs/binfmt_misc/register
}
register riscv64
register aarch64
echo "lab: host ready"
