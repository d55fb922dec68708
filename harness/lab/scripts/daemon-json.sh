#!/usr/bin/env bash
# The lab VM's /etc/docker/daemon.json: docker.io through the lab's registry on the host (10.0.2.2 from
# the guest), and the image store: classic, or containerd, as Docker 29 has it on a fresh install (older
# engines: a feature flag).
# usage: daemon-json.sh REGISTRY_ADDR IMAGE_STORE
set -euo pipefail
registry=$1 image_store=$2
store=
case "$image_store" in
  classic) ;;
  containerd) store=', "features": { "containerd-snapshotter": true }' ;;
  *) echo "daemon-json.sh: image store '$image_store' is neither classic nor containerd" >&2; exit 2 ;;
esac
printf '{ "registry-mirrors": ["http://%s"], "insecure-registries": ["%s"]%s }\n' "$registry" "$registry" "$store"
