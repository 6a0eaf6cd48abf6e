#!/bin/bash
# (A copy of the project's ../shared/testenv/user-session.sh, kept here so CI on a fresh clone has it.)
# A real per-user systemd manager and user D-Bus for an unprivileged test user, on a machine whose
# PID 1 is not systemd and whose cgroups are hybrid (v1 controllers + a v2 hierarchy).
#
#   user-session.sh start [USER]        create USER (default tsrunc-test) with /etc/subuid and /etc/subgid
#                                       ranges if missing, then start `systemd --user` for it in a private
#                                       mount namespace where /sys/fs/cgroup is the cgroup2 hierarchy
#   user-session.sh run [USER] -- CMD…  run CMD as USER inside that namespace, in a cgroup the user's manager
#                                       owns, with XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS set (exit
#                                       status is CMD's); this is what a login session gives a real user
#   user-session.sh stop [USER]         stop the manager and everything it started
#
# Must run as root. What it gives: systemd's user manager, its user bus, transient units, Delegate=yes
# scopes owned by the user, cgroup.freeze and cgroup.kill. What it cannot give on such a host: the memory,
# pids, cpu and io controllers (they stay bound to cgroup v1 here) — use ../vm for those.
set -euo pipefail
cmd=${1:-}; shift || true
user=tsrunc-test
if [[ ${1:-} != "" && ${1:-} != "--" ]]; then user=$1; shift; fi
[[ ${1:-} == "--" ]] && shift

[[ $(id -u) == 0 ]] || { echo "user-session.sh: must run as root" >&2; exit 2; }

ensure_user() {
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
  local uid; uid=$(id -u "$user")
  grep -q "^$user:" /etc/subuid || echo "$user:$((100000 + (uid % 100) * 65536)):65536" >> /etc/subuid
  grep -q "^$user:" /etc/subgid || echo "$user:$((100000 + (uid % 100) * 65536)):65536" >> /etc/subgid
  install -d -m 700 -o "$user" -g "$user" "/run/user/$uid"
}

manager_pid() { pgrep -u "$user" -x systemd | head -n 1 || true; }

start() {
  ensure_user
  [[ -n $(manager_pid) ]] && { echo "user-session.sh: manager for $user already running (pid $(manager_pid))"; return; }
  local uid gid; uid=$(id -u "$user"); gid=$(id -g "$user")
  command -v dbus-daemon >/dev/null || { echo "user-session.sh: needs packages dbus dbus-user-session systemd" >&2; exit 2; }
  local base=/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service
  rm -f "/run/user/$uid/bus" "/run/user/$uid/systemd/private"   # stale sockets of an earlier manager
  # Inside a new mount namespace: cgroup2 on /sys/fs/cgroup, a private /run/systemd that says "booted with
  # systemd", and the user's delegated subtree (owned by the user, as logind would make it).
  unshare -m --propagation private bash -c "
    set -e
    mount -t cgroup2 none /sys/fs/cgroup
    mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system
    mkdir -p $base/session.scope
    chown -R $uid:$gid $base
    echo \$\$ > $base/cgroup.procs
    exec setpriv --reuid=$uid --regid=$gid --init-groups env -i HOME=$(getent passwd "$user" | cut -d: -f6) \
      USER=$user LOGNAME=$user XDG_RUNTIME_DIR=/run/user/$uid PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
      /lib/systemd/systemd --user
  " >"/run/user/$uid/.user-session.log" 2>&1 &
  for _ in $(seq 100); do
    [[ -n $(manager_pid) && -S /run/user/$uid/bus && -S /run/user/$uid/systemd/private ]] && break; sleep 0.1
  done
  [[ -n $(manager_pid) && -S /run/user/$uid/bus ]] || { echo "user-session.sh: manager did not come up; log:" >&2; cat "/run/user/$uid/.user-session.log" >&2; exit 1; }
  echo "user-session.sh: systemd --user for $user running (pid $(manager_pid)), bus unix:path=/run/user/$uid/bus"
}

run() {
  local pid uid gid; pid=$(manager_pid); uid=$(id -u "$user"); gid=$(id -g "$user")
  [[ -n $pid ]] || { echo "user-session.sh: no manager for $user; run 'start' first" >&2; exit 2; }
  local scope=/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service/session.scope
  # Enter the manager's mount namespace, join a cgroup inside the user's delegated subtree (as a login
  # session's processes are), then drop to the user.
  exec nsenter -t "$pid" -m bash -c '
    echo $$ > "$1/cgroup.procs"; shift
    exec setpriv --reuid="$1" --regid="$2" --init-groups env HOME="$3" USER="$4" LOGNAME="$4" \
      XDG_RUNTIME_DIR=/run/user/$1 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$1/bus \
      PATH="$5" "${@:6}"
  ' _ "$scope" "$uid" "$gid" "$(getent passwd "$user" | cut -d: -f6)" "$user" \
    "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" "$@"
}

stop() {
  local pid; pid=$(manager_pid)
  [[ -n $pid ]] || return 0
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  # What the manager started can outlive it (its socket-activated dbus-daemon did, and a bus with no
  # systemd behind it then stalls every later caller): kill what is left of its cgroup. (This copy of
  # ../shared/testenv/user-session.sh differs from it only in this stop.)
  local uid cg2; uid=$(id -u "$user"); cg2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
  [[ -n $cg2 && -e $cg2/user.slice/user-$uid.slice/user@$uid.service/cgroup.kill ]] &&
    echo 1 > "$cg2/user.slice/user-$uid.slice/user@$uid.service/cgroup.kill" || true
  # Its sockets stay behind: a later rootless run would try the dead bus before falling back.
  rm -f "/run/user/$uid/bus" "/run/user/$uid/systemd/private"
}

case $cmd in
  start) start ;;
  run) run "$@" ;;
  stop) stop ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
