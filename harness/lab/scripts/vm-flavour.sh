#!/usr/bin/env bash
# A VM disk for a Docker flavour that differs from the base disk only in Docker's configuration (the image
# store): a sparse copy of the base disk with /etc/docker/daemon.json written into the copy's ext4 by
# debugfs, checked by e2fsck, and the base's kernel, initrd and package list beside it. Seconds, where a
# disk built from scratch takes minutes under qemu-user.
# usage: vm-flavour.sh BASE_VM_DIR OUT_DIR REGISTRY_ADDR IMAGE_STORE
set -euo pipefail
base=$1 out=$2 registry=$3 image_store=$4
here=$(dirname "$0")
work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM INT HUP
mkdir -p "$work/vm"
cp --sparse=always "$base/disk.img" "$work/vm/disk.img"
for f in vmlinux initrd.img kernel-version packages.txt; do cp "$base/$f" "$work/vm/$f"; done
bash "$here/daemon-json.sh" "$registry" "$image_store" > "$work/daemon.json"
printf '%s\n' 'cd /etc/docker' 'rm daemon.json' "write $work/daemon.json daemon.json" \
  'sif daemon.json mode 0100644' 'sif daemon.json uid 0' 'sif daemon.json gid 0' > "$work/debugfs.cmds"
debugfs -w -f "$work/debugfs.cmds" "$work/vm/disk.img" > "$work/debugfs.log" 2>&1
got=$(debugfs -R 'cat /etc/docker/daemon.json' "$work/vm/disk.img" 2>/dev/null)
[ "$got" = "$(cat "$work/daemon.json")" ] || {
  cat "$work/debugfs.log" >&2; echo "lab: writing daemon.json into the flavour's disk failed (it reads: $got)" >&2; exit 1; }
e2fsck -fn "$work/vm/disk.img" > "$work/e2fsck.log" 2>&1 || {
  tail -n 20 "$work/e2fsck.log" >&2; echo "lab: the flavour's disk does not check clean" >&2; exit 1; }
rm -rf "$out"; mv "$work/vm" "$out"
echo "lab: VM disk for the $image_store image store ready"
