#!/usr/bin/env bash
# Installs what the suite needs on the machine that runs it: npm packages always, exactly as the lock
# says (`npm ci`); Debian packages when apt-get is there, as root or through `sudo -n apt-get` (the most a
# runner user's sudo grants), and only what the suite uses.
# - Not riscv64 (a lab host, CI): a real sshd and dockerd for the suite's own tests, chromium for the HTML
#   report's, tinyproxy, lintian for the Debian package, and the lab's host packages (qemu-system-riscv64, debootstrap, binfmt_misc).
# - riscv64 (the board): never Docker, containerd or runc (the board's own engine is never changed); only
#   the tools the checks and self tests call. A step that cannot work there says so in one line.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*"; }
arch=$(uname -m)

if [ "$arch" = riscv64 ]; then
  # What the phases call on the board (git for the build script, rootless's tools). Docker, containerd,
  # runc and buildx are the board's (doctor checks them); cosign verifies the image's signature (the
  # container phase); self tests that need a lab host's tool skip.
  want=(git ca-certificates uidmap rootlesskit slirp4netns dbus-user-session tinyproxy cosign)
else
  want=(openssh-server openssh-client docker.io busybox-static git ca-certificates shellcheck chromium tinyproxy lintian)
fi

apt=()
if ! command -v apt-get >/dev/null; then
  say "no apt-get: skipping Debian packages (doctor and the self tests say what is missing)"
elif [ "$(id -u)" = 0 ]; then
  apt=(apt-get)
elif sudo -n apt-get --version >/dev/null 2>&1; then
  apt=(sudo -n apt-get)
else
  say "not root and no sudo for apt-get: skipping Debian packages (doctor says what is missing)"
fi

if [ ${#apt[@]} -gt 0 ]; then
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "$arch" != riscv64 ] && ! command -v go >/dev/null; then missing+=(golang-go); fi
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (${apt[*]})"
    export DEBIAN_FRONTEND=noninteractive
    "${apt[@]}" update -qq
    log=$(mktemp)
    if ! "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -f "$log"
      say "installing ${missing[*]} failed (above)"
      exit 1
    fi
    rm -f "$log"
    # The suite starts its own tinyproxy and registry per run; the packages' system services are not wanted.
    for unit in tinyproxy docker-registry; do
      if [[ " ${missing[*]} " == *" ${unit} "* ]]; then
        if [ "$(id -u)" = 0 ]; then (systemctl disable --now "$unit" || service "$unit" stop) >/dev/null 2>&1 || true
        else sudo -n systemctl disable --now "$unit" >/dev/null 2>&1 || true; fi
      fi
    done
  fi
  if [ "$arch" != riscv64 ] && [ "$(id -u)" = 0 ]; then bash harness/lab/scripts/host-prepare.sh; fi
fi

# Exactly the lock: `npm ci` installs what package-lock.json says (this platform's optional builds
# among them) and never rewrites it.
npm ci --no-audit --no-fund --loglevel=error

# actionlint checks the workflows (shellcheck, when installed, their run: scripts too), pinned, built by Go.
ACTIONLINT=v1.7.12
ACTIONLINT_GO=1.25
go_at_least() {
  local have
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n1)" = "$1" ]
}
if .tools/bin/actionlint -version 2>/dev/null | grep -qx "$ACTIONLINT"; then
  :
elif ! command -v go >/dev/null; then
  say "skipping actionlint: no Go (the workflow lint is skipped)"
elif ! go_at_least "$ACTIONLINT_GO"; then
  say "skipping actionlint: it needs Go >= $ACTIONLINT_GO, this Go is $(go env GOVERSION) (sudo apt-get install -t trixie-backports golang-go)"
else
  say "installing actionlint $ACTIONLINT"
  GOTOOLCHAIN=local GOBIN="$PWD/.tools/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT"
fi
if [ "$arch" = riscv64 ]; then say "no Biome build for riscv64: lint and format are checked on another machine (CI)"; fi
say "done"
