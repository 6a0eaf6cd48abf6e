#!/bin/bash
# Lingering and detached containers on a full systemd host (issue 8): boots the image of ../shared/vm
# through test/vm/run-in-vm.sh (as root) and runs linger-guest.sh on a copy of this built tree.
# Usage (root): flock /tmp/tsrunc-vm.lock test/vm/linger.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
[[ -f "$repo/dist/tsrunc.js" && -x "$repo/helpers/build/tsrunc-monitor" ]] || { echo "linger.sh: build first (npm run build)" >&2; exit 2; }
share=$(mktemp -d /tmp/tsrunc-vm-share.XXXXXX)
trap 'rm -rf "$share"' EXIT
tar -C "$repo" --exclude=./.git --exclude=./build --exclude=./node_modules/typescript --exclude=./node_modules/esbuild \
  --exclude=./node_modules/@esbuild --exclude=./node_modules/@types -cf - . | tar -C "$share" -xf -
VM_USER=root "$repo/test/vm/run-in-vm.sh" "$share" 'bash test/vm/linger-guest.sh'
