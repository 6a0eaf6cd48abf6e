#!/bin/bash
# Runs INSIDE the VM (test/vm/linger.sh), as root, from a copy of the built tree: a user with lingering
# gets their systemd --user manager without logging in, and a tsrunc unit enabled in it starts with it
# (issue 8, point 2: "works with lingering"). logind starts the manager of every lingering user at boot
# through the same path `loginctl enable-linger` takes at once; the image is a throw-away snapshot run
# with -no-reboot, so this is the closest to a boot that can be shown here. Then, as that user, a
# detached container under its monitor (run -d): wait, state, logs. TAP lines; non-zero on a failure.
set -u
cd "$(dirname "$0")/../.."
failed=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }

U=lingerer
useradd -m -s /bin/bash "$U"
uid=$(id -u "$U")
home=$(getent passwd "$U" | cut -d: -f6)
# The tree where the user can read it (the share is tester's).
cp -a "$PWD" /opt/tsrunc && chmod -R a+rX /opt/tsrunc
TSRUNC=/opt/tsrunc/bin/tsrunc # the C front end (bin/tsrunc is no Node script since the front end landed)
as_user() { runuser -u "$U" -- env HOME="$home" XDG_RUNTIME_DIR="/run/user/$uid" DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"; }

# The bundle: single-ID rootless mappings (no subuid ranges needed), a process that says it started.
B="$home/bundles/demo"
mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/sys" "$B/rootfs/dev" "$B/rootfs/tmp"
cp /bin/busybox "$B/rootfs/bin/busybox"
for a in sh sleep echo; do ln -sf busybox "$B/rootfs/bin/$a"; done
chown -R "$U:" "$home/bundles"
(cd "$B" && runuser -u "$U" -- $TSRUNC spec --rootless --mappings single >/dev/null)
runuser -u "$U" -- node -e '
  const fs = require("fs"), f = process.argv[1], c = JSON.parse(fs.readFileSync(f, "utf8"));
  c.process.terminal = false; c.process.args = ["sh", "-c", "echo demo up; exec sleep 1000"];
  fs.writeFileSync(f, JSON.stringify(c));' "$B/config.json"

# The unit, written and enabled (default.target.wants) by hand: the manager is not running yet, so
# `generate --install` (which runs daemon-reload) cannot be used before lingering starts it.
mkdir -p "$home/.config/systemd/user/default.target.wants"
(cd "$home" && runuser -u "$U" -- $TSRUNC generate systemd --type exec --bundle "$B" demo) > "$home/.config/systemd/user/tsrunc-demo.service"
ln -s ../tsrunc-demo.service "$home/.config/systemd/user/default.target.wants/tsrunc-demo.service"
chown -R "$U:" "$home/.config"
check "no manager for $U before lingering" bash -c "! systemctl is-active -q user@$uid.service"

loginctl enable-linger "$U"
up=0
for i in $(seq 900); do
  if systemctl is-active -q "user@$uid.service" && as_user systemctl --user is-active -q tsrunc-demo.service; then up=1; break; fi
  sleep 0.2
done
check "lingering started user@$uid.service without a login, and with it tsrunc-demo.service" test $up = 1
loginctl show-user "$U" -p Linger -p State -p Sessions
check "$U has no session (State=lingering)" bash -c "loginctl show-user $U -p State --value | grep -qx lingering"
# Type=exec: active once `tsrunc run` is exec'd, which is seconds before the container runs here.
running=0
for i in $(seq 120); do
  as_user $TSRUNC state demo 2>/dev/null | grep -q '"status": "running"' && { running=1; break; }
  sleep 0.5
done
check "the container of the unit runs" test $running = 1
check "its output is in the unit's journal or status" bash -c "for i in \$(seq 50); do journalctl _UID=$uid --no-pager 2>/dev/null | grep -q 'demo up' && exit 0; as_user systemctl --user status tsrunc-demo.service 2>/dev/null | grep -q 'demo up' && exit 0; sleep 0.2; done; exit 1"
as_user systemctl --user stop tsrunc-demo.service
check "stopped: no state left" bash -c "! $TSRUNC --root /run/user/$uid/tsrunc state demo >/dev/null 2>&1"

# A detached container of that user under its monitor, on a full systemd host.
runuser -u "$U" -- node -e '
  const fs = require("fs"), f = process.argv[1], c = JSON.parse(fs.readFileSync(f, "utf8"));
  c.process.args = ["sh", "-c", "echo detached out; exit 3"];
  fs.writeFileSync(f, JSON.stringify(c));' "$B/config.json"
(cd "$B" && as_user $TSRUNC run -d --output "$home/d.log" det)
check "run -d then wait prints 3" bash -c "test \"\$(cd $B && runuser -u $U -- env XDG_RUNTIME_DIR=/run/user/$uid $TSRUNC wait det)\" = 3"
check "logs show the output" bash -c "test \"\$(runuser -u $U -- env XDG_RUNTIME_DIR=/run/user/$uid $TSRUNC logs det)\" = 'detached out'"
as_user $TSRUNC delete det
echo "1..$n"
exit $failed
