#!/bin/bash
# The cgroup v2 VM suite (issue 5, point 4): boots the image of ../shared/vm (its setup.sh must have run
# once, as root) through test/vm/run-in-vm.sh and runs cgroups-guest.sh there on a copy of this built
# tree: as root (cgroupfs driver, and runc beside it for events), then as the VM's user (systemd driver,
# delegated cgroupfs).
# Usage (root): test/vm/run.sh [shared VM scripts dir: only checked for setup.sh; default /work/shared/vm]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
vm=${1:-/work/shared/vm}
[[ -f "$repo/dist/tsrunc.js" && -f "$repo/helpers/build/libtsrunc.so" ]] || { echo "run.sh: build first (npm run build)" >&2; exit 2; }
share=$(mktemp -d /tmp/tsrunc-vm-share.XXXXXX)
trap 'rm -rf "$share"' EXIT
# Only what the built CLI needs at run time (the typescript/esbuild toolchain stays behind).
tar -C "$repo" --exclude=./.git --exclude=./build --exclude=./node_modules/typescript --exclude=./node_modules/esbuild \
  --exclude=./node_modules/@esbuild --exclude=./node_modules/@types -cf - . | tar -C "$share" -xf -
# The reference runtime for the events comparison: the host's runc (the image has none; it needs only
# libc and libseccomp, which the image has).
runc=$(command -v runc || true)
[[ -n $runc ]] || { echo "run.sh: runc is not installed (apt-get install runc)" >&2; exit 2; }
cp "$runc" "$share/vm-runc"
[[ -x "$vm/setup.sh" ]] || { echo "run.sh: no $vm/setup.sh" >&2; exit 2; }
VM_USER=root "$repo/test/vm/run-in-vm.sh" "$share" 'bash test/vm/cgroups-guest.sh'
