#!/usr/bin/env bash
# Installs what the suite needs on the machine that runs it: npm packages always; as root on a
# Debian-like machine that is not riscv64, also the Debian packages for the suite's own tests (a real
# sshd and dockerd) and for the lab (qemu-system-riscv64, debootstrap, registry, binfmt_misc).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  want=(openssh-server openssh-client docker.io busybox-static git ca-certificates shellcheck)
  # Chromium renders the HTML report in the suite's own tests (a real browser, driven by playwright-core);
  # tinyproxy is the real HTTP proxy the buildx phase sends RUN steps through (the lab reaches it).
  if [ "$(uname -m)" != riscv64 ]; then want+=(chromium tinyproxy); fi
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ! command -v go >/dev/null; then missing+=(golang-go); fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The suite starts its own tinyproxy per run; the package's system service is not wanted.
    if [[ " ${missing[*]} " == *" tinyproxy "* ]]; then
      (systemctl disable --now tinyproxy || service tinyproxy stop) >/dev/null 2>&1 || true
    fi
  fi
  if [ "$(uname -m)" != riscv64 ]; then bash harness/lab/scripts/host-prepare.sh; fi
elif [ "$(id -u)" != 0 ]; then
  echo "setup: not root: skipping Debian packages (the suite's own sshd/dockerd tests and the lab will say what they miss)"
fi

# `npm install` honours package-lock.json; `npm ci` would refuse it here because the registry mirror
# this project reaches does not serve every platform build of optional binaries (Biome for macOS, Windows).
npm install --no-audit --no-fund

# actionlint checks the workflows (shellcheck, when installed, their run: scripts too), pinned, built by Go.
ACTIONLINT=v1.7.12
if command -v go >/dev/null && ! .tools/bin/actionlint -version 2>/dev/null | grep -qx "$ACTIONLINT"; then
  echo "setup: installing actionlint $ACTIONLINT"
  GOBIN="$PWD/.tools/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT"
fi
echo "setup: done"
