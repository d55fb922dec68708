#!/usr/bin/env bash
# Build a debian:<codename>-slim stand-in rootfs tarball for one architecture with debootstrap --variant=minbase.
# INDEX is the dists/ name the release is taken from (the codename, or another name of the same release
# when the codename's index is inconsistent upstream; see debian-index.ts); debootstrap still verifies it.
# usage: minbase-rootfs.sh ARCH INDEX CODENAME MIRROR OUT.tar
set -euo pipefail
arch=$1 index=$2 codename=$3 mirror=$4 out=$5
# What debootstrap mounted in a tree (proc, sys) is unmounted before the tree goes, and rm never
# crosses into a mount; a work dir an interrupted earlier run left behind goes the same way.
unmount_under() { awk -v r="$1/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done; }
remove_work() { unmount_under "$1"; rm -rf --one-file-system "$1"; }
for stale in "${out}".work.*; do [ -d "$stale" ] && remove_work "$stale"; done
work=$(mktemp -d "${out}.work.XXXXXX")
trap 'remove_work "$work"' EXIT
# Killed (the lab's start interrupted): still the EXIT trap.
trap 'exit 143' TERM INT HUP
script=/usr/share/debootstrap/scripts/$codename
[ -e "$script" ] || script=
debootstrap --arch="$arch" --variant=minbase "$index" "$work/root" "$mirror" $script >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  echo "lab: debootstrap of $index ($codename)/$arch failed" >&2
  exit 1
}
# What the official slim images drop, and nothing the base system needs.
rm -rf "$work/root"/var/cache/apt/archives/*.deb "$work/root"/var/lib/apt/lists/* \
  "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/usr/share/info/*
printf 'deb %s %s main\n' "$mirror" "$index" > "$work/root/etc/apt/sources.list"
tar --numeric-owner --xattrs -C "$work/root" -cf "$out.partial" .
mv "$out.partial" "$out"
