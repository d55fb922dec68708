#!/usr/bin/env bash
# Build a debian:<suite>-slim stand-in rootfs tarball for one architecture with debootstrap --variant=minbase.
# usage: minbase-rootfs.sh ARCH SUITE MIRROR OUT.tar
set -euo pipefail
arch=$1 suite=$2 mirror=$3 out=$4
work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
debootstrap --arch="$arch" --variant=minbase "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  echo "lab: debootstrap of $suite/$arch failed" >&2
  exit 1
}
# What the official slim images drop, and nothing the base system needs.
rm -rf "$work/root"/var/cache/apt/archives/*.deb "$work/root"/var/lib/apt/lists/* \
  "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/usr/share/info/*
printf 'deb %s %s main\n' "$mirror" "$suite" > "$work/root/etc/apt/sources.list"
tar --numeric-owner --xattrs -C "$work/root" -cf "$out.partial" .
mv "$out.partial" "$out"
