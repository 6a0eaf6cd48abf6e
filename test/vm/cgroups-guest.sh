#!/bin/bash
# Runs INSIDE the cgroup v2 VM (../shared/vm's image, booted by run.sh through test/vm/run-in-vm.sh) from
# a copy of the built tree, as root: enforced limits through the cgroupfs driver at /tsrunc-test/…, then
# itself again as the lingering user "tester" in a logind session (vm_as_tester, from guest/runner):
# enforced limits through the systemd driver and through cgroupfs in a delegated scope (issue 5, point 4). Prints "ok - …"/"not ok - …" lines (TAP) and
# exits non-zero when a check fails. Keep it small: processes start ~40x slower under emulation.
set -u
cd "$(dirname "$0")/../.."
TSRUNC="$PWD/bin/tsrunc"
ROOT=$(mktemp -d /tmp/tsrunc-vm-state.XXXXXX)
failed=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }
ts() { $TSRUNC --root "$ROOT" "$@"; }

# Busybox bundles from `tsrunc spec --rootless` (one node start for all: each costs seconds here):
# $B/<name>/config.json gets a writable root, the args and linux.resources given in bundles().
B=$(mktemp -d /tmp/vm-b.XXXXXX)
if [ "$(id -u)" = 0 ]; then (cd "$B" && $TSRUNC spec >/dev/null); else (cd "$B" && $TSRUNC spec --rootless >/dev/null); fi
bundles() {
  node -e '
    const fs = require("fs"); const [dir, json] = process.argv.slice(1);
    const base = JSON.parse(fs.readFileSync(`${dir}/config.json`, "utf8"));
    for (const [name, b] of Object.entries(JSON.parse(json))) {
      const c = structuredClone(base);
      c.process.terminal = false; c.process.args = b.args; c.root.readonly = false;
      c.linux.resources = b.resources; if (b.annotations) c.annotations = b.annotations;
      if (b.cgroupsPath) c.linux.cgroupsPath = b.cgroupsPath;
      fs.mkdirSync(`${dir}/${name}`, { recursive: true });
      fs.writeFileSync(`${dir}/${name}/config.json`, JSON.stringify(c));
    }' "$B" "$1"
  for d in "$B"/*/; do
    mkdir -p "$d/rootfs/bin" "$d/rootfs/proc" "$d/rootfs/sys" "$d/rootfs/dev" "$d/rootfs/tmp"
    cp /bin/busybox "$d/rootfs/bin/busybox"
    for a in sh sleep dd echo cat; do ln -sf busybox "$d/rootfs/bin/$a"; done
  done
}
cg() { echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")"; }
# The init's pid: the first "pid" of state.json (a detached container's "monitor" has one too).
pid_of() { grep -o '"pid":[0-9]*' "$ROOT/$1/state.json" | head -n 1 | cut -d: -f2; }

# 0. As root: the cgroupfs driver at a cgroupsPath of our own under the root cgroup (no systemd involved:
#    tsrunc as root picks cgroupfs), the same limits as the systemd checks below; then the tester part.
if [ "$(id -u)" = 0 ]; then
  echo "# as root: $(uname -r), $(stat -fc %T /sys/fs/cgroup), root cgroup controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
  bundles '{
    "rmem": {"args": ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null; echo dd=$? > /tmp/dd; (i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; echo forked > /tmp/forked; sleep 1000"],
             "cgroupsPath": "/tsrunc-test/rmem",
             "resources": {"memory": {"limit": 16777216, "swap": 16777216}, "cpu": {"quota": 20000, "period": 100000}, "pids": {"limit": 16}}}
  }'
  check "create as root with cgroupsPath /tsrunc-test/rmem" ts create --bundle "$B/rmem" rmem
  P=$(pid_of rmem); D=$(cg "$P")
  check "the container is in /sys/fs/cgroup/tsrunc-test/rmem ($D)" test "$D" = /sys/fs/cgroup/tsrunc-test/rmem
  check "the driver is cgroupfs" grep -q '"driver":"cgroupfs"' "$ROOT/rmem/state.json"
  check "memory.max is 16 MiB" test "$(cat "$D/memory.max")" = 16777216
  check "memory.swap.max is 0" test "$(cat "$D/memory.swap.max")" = 0
  check "cpu quota shows in cpu.max" test "$(cat "$D/cpu.max")" = "20000 100000"
  check "pids.max is 16" test "$(cat "$D/pids.max")" = 16
  ts events --interval 1s rmem > "$B/events" 2>&1 &
  EV=$!
  for _ in $(seq 100); do [ -s "$B/events" ] && break; sleep 0.2; done # events is watching
  check "start" ts start rmem
  R=$B/rmem/rootfs
  for _ in $(seq 600); do [ -e "$R/tmp/forked" ] && break; sleep 0.2; done
  check "dd past the limit was OOM-killed ($(cat "$R/tmp/dd" 2>/dev/null))" test "$(cat "$R/tmp/dd" 2>/dev/null)" = dd=137
  check "memory.events counts the OOM kill" grep -q '^oom_kill [1-9]' "$D/memory.events"
  for _ in $(seq 50); do grep -q '"type":"oom"' "$B/events" && break; sleep 0.2; done
  check "events reports the OOM" grep -q "{\"type\":\"oom\",\"id\":\"rmem\"}" "$B/events"
  check "pids.limit stopped the fork loop at 16 ($(cat "$D/pids.current") now)" test "$(cat "$D/pids.current")" -le 16
  check "pids.events counts refused forks" grep -q '^max [1-9]' "$D/pids.events"
  check "update changes the running container's limits" ts update --memory 64m --pids-limit 32 --cpu-quota 50000 rmem
  check "memory.max is now 64 MiB" test "$(cat "$D/memory.max")" = 67108864
  check "pids.max is now 32" test "$(cat "$D/pids.max")" = 32
  check "cpu.max is now 50000 100000" test "$(cat "$D/cpu.max")" = "50000 100000"
  check "update --memory-swap -1 --pids-limit -1 (runc's spelling of no limit)" ts update --memory-swap -1 --pids-limit -1 rmem
  check "memory.swap.max and pids.max are max" test "$(cat "$D/memory.swap.max") $(cat "$D/pids.max")" = "max max"
  check "delete --force" ts delete --force rmem
  kill $EV 2>/dev/null
  check "the directory is gone" test ! -e "$D"

  # runc 1.1.5 (the host's, copied in by run.sh) and tsrunc run the same container: `events --stats`
  # must print the same fields in the same order, with the same limits (issue 5: runc's JSON).
  bundles '{
    "stat-runc": {"args": ["sleep", "1000"], "cgroupsPath": "/tsrunc-test/stat-runc", "resources": {"memory": {"limit": 67108864, "swap": 134217728}, "pids": {"limit": 50}}},
    "stat-ts": {"args": ["sleep", "1000"], "cgroupsPath": "/tsrunc-test/stat-ts", "resources": {"memory": {"limit": 67108864, "swap": 134217728}, "pids": {"limit": 50}}}
  }'
  RR=$ROOT/runc
  check "runc ($(./vm-runc --version 2>&1 | head -1)) runs the container" ./vm-runc --root "$RR" run -d --bundle "$B/stat-runc" stat-runc
  check "tsrunc runs the same container" ts run -d --bundle "$B/stat-ts" stat-ts
  ./vm-runc --root "$RR" events --stats stat-runc > "$B/runc.json"
  ts events --stats stat-ts > "$B/tsrunc.json"
  check "events --stats: the fields and values runc prints" node test/vm/compare-stats.mjs "$B/runc.json" "$B/tsrunc.json"
  check "memory.swap is memory plus swap, as runc reports it on cgroup v2" grep -q '"swap":{"limit":134217728,' "$B/tsrunc.json"
  ./vm-runc --root "$RR" delete --force stat-runc
  check "delete --force" ts delete --force stat-ts
  echo "1..$n"
  rm -rf "$B" "$ROOT"
  if declare -F vm_as_tester >/dev/null; then
    echo "# as tester:"
    vm_as_tester exec bash test/vm/cgroups-guest.sh || failed=1
  else
    echo "not ok - the tester part needs vm_as_tester (test/vm/guest/runner)"; failed=1
  fi
  exit $failed
fi

echo "# $(uname -r), $(stat -fc %T /sys/fs/cgroup), controllers of the user manager: $(cat /sys/fs/cgroup/user.slice/user-$(id -u).slice/user@$(id -u).service/cgroup.subtree_control)"

# 1. memory: 16 MiB, no swap; dd allocates a 48 MiB buffer and is OOM-killed; events reports it. The
#    fork loop runs in a subshell: a shell whose fork fails exits, and the init must survive it.
#    OOMPolicy=continue (an org.systemd.property annotation): systemd's default stops the whole scope.
bundles '{
  "mem": {"args": ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null; echo dd=$? > /tmp/dd; (i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; echo forked > /tmp/forked; sleep 1000"],
          "resources": {"memory": {"limit": 16777216, "swap": 16777216}, "cpu": {"quota": 20000, "period": 100000}, "pids": {"limit": 16}},
          "annotations": {"org.systemd.property.OOMPolicy": "'"'continue'"'"}},
  "fs": {"args": ["sleep", "1000"], "resources": {"pids": {"limit": 8}, "memory": {"limit": 33554432}}}
}'
check "create through the systemd user manager" ts create --bundle "$B/mem" mem
P=$(pid_of mem); D=$(cg "$P")
check "the container is in tsrunc-mem.scope ($D)" test "${D##*/}" = tsrunc-mem.scope
check "memory.max is 16 MiB" test "$(cat "$D/memory.max")" = 16777216
check "memory.swap.max is 0" test "$(cat "$D/memory.swap.max")" = 0
check "cpu quota shows in cpu.max" test "$(cat "$D/cpu.max")" = "20000 100000"
check "pids.max is 16" test "$(cat "$D/pids.max")" = 16
ts events --interval 1s mem > "$B/events" 2>&1 &
EV=$!
for _ in $(seq 100); do [ -s "$B/events" ] && break; sleep 0.2; done # events is watching
check "start" ts start mem
R=$B/mem/rootfs
for _ in $(seq 600); do [ -e "$R/tmp/forked" ] && break; sleep 0.2; done
check "dd past the limit was OOM-killed ($(cat "$R/tmp/dd" 2>/dev/null))" test "$(cat "$R/tmp/dd" 2>/dev/null)" = dd=137
check "memory.events counts the OOM kill" grep -q '^oom_kill [1-9]' "$D/memory.events"
for _ in $(seq 50); do grep -q '"type":"oom"' "$B/events" && break; sleep 0.2; done
check "events reports the OOM" grep -q "{\"type\":\"oom\",\"id\":\"mem\"}" "$B/events"
check "pids.limit stopped the fork loop at 16 ($(cat "$D/pids.current") now)" test "$(cat "$D/pids.current")" -le 16
check "pids.events counts refused forks" grep -q '^max [1-9]' "$D/pids.events"
check "update changes the running container's limits" ts update --memory 64m --pids-limit 32 --cpu-quota 50000 mem
check "memory.max is now 64 MiB" test "$(cat "$D/memory.max")" = 67108864
check "pids.max is now 32" test "$(cat "$D/pids.max")" = 32
check "cpu.max is now 50000 100000" test "$(cat "$D/cpu.max")" = "50000 100000"
check "delete --force" ts delete --force mem
kill $EV 2>/dev/null
check "the scope is gone" test ! -e "$D"

# 2. cgroupfs in a subtree delegated to us (no user bus for tsrunc): the same limits, written as files.
check "run -d through cgroupfs in a delegated scope" \
  systemd-run --user --scope -p Delegate=yes --quiet env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
  "$PWD/bin/tsrunc" --root "$ROOT" run -d --bundle "$B/fs" fs
P=$(pid_of fs); D=$(cg "$P")
check "cgroupfs made $D" grep -q '"driver":"cgroupfs"' "$ROOT/fs/state.json"
check "pids.max is 8" test "$(cat "$D/pids.max")" = 8
check "memory.max is 32 MiB" test "$(cat "$D/memory.max")" = 33554432
check "update through cgroupfs" ts update --pids-limit 9 fs
check "pids.max is now 9" test "$(cat "$D/pids.max")" = 9
check "delete removes the directory" ts delete --force fs
check "the directory is gone" test ! -e "$D"

echo "1..$n"
rm -rf "$B" "$ROOT"
exit $failed
