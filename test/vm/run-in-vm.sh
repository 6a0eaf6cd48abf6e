#!/bin/bash
# run-in-vm.sh <host-dir-to-share> <command...>: a project-owned variant of ../shared/vm/run-in-vm.sh
# that can run the command as ROOT in the same VM image (setup.sh there builds it; this does not change
# it). Why the copy: the image's own runner (/usr/local/sbin/vm-runner, baked in by shared/vm) runs the
# command only as the user `tester`, who has no sudo or other root path, and shared/ is not ours to
# change. Instead of rebuilding the image, this boots it with `systemd.mask=vm-runner.service` and a
# `systemd.run=` (systemd-run-generator, a stock systemd feature) that starts test/vm/guest/runner from
# the control share: the same steps as vm-runner (share unpacked as tester in /home/tester/work, user
# manager up), then the command as $VM_USER.
#
# Knobs (a subset of shared/vm/run-in-vm.sh's, same meaning): VM_USER=root|tester (default tester),
# VM_ENV="A B", VM_CPUS=2 VM_MEM=4096 VM_TIMEOUT=3600 VM_CPU=max, VM_KEEP=1, VM_VERBOSE=1, VM_HOME,
# VM_DEBUG=1 (boot messages in the console log).
# Always copy mode (the share as one tar), TCG, no network. In the guest, as root, a command can reach
# the tester part with vm_as_tester (exported by the runner): a logind session like vm-runner's.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
VMDIR=${VM_HOME:-/var/tmp/tsrunc-vm}
[ $# -ge 2 ] || { echo "usage: $0 <host-dir-to-share> <command...>" >&2; exit 2; }
SHARE=$(readlink -f "$1"); shift
[ -d "$SHARE" ] || { echo "run-in-vm: $SHARE is not a directory" >&2; exit 2; }
for f in initrd.img rootfs.img; do
  [ -e "$VMDIR/$f" ] || { echo "run-in-vm: missing $VMDIR/$f (run ../shared/vm/setup.sh first)" >&2; exit 2; }
done
case "${VM_USER:-tester}" in root|tester) ;; *) echo "run-in-vm: VM_USER must be root or tester" >&2; exit 2 ;; esac

CTL=$(mktemp -d /tmp/tsrunc-vm-ctl.XXXXXX)
cleanup() {
  [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null || true
  [ -n "${TPID:-}" ] && kill "$TPID" 2>/dev/null || true
  [ "${VM_KEEP:-0}" = 1 ] || rm -rf "$CTL"
}
trap cleanup EXIT
chmod 711 "$CTL"; : > "$CTL/output.log"
{ echo '#!/bin/bash'
  for v in ${VM_ENV:-}; do printf 'export %s=%q\n' "$v" "${!v-}"; done
  printf '%s\n' "$*"; } > "$CTL/cmd.sh"
printf 'VM_USER=%q\n' "${VM_USER:-tester}" > "$CTL/config"
install -m 0755 "$here/guest/runner" "$CTL/runner"
tar -C "$SHARE" -cf "$CTL/share.tar" . || echo "run-in-vm: tar of $SHARE reported errors" >&2

KERNEL="$VMDIR/vmlinux"; [ -e "$KERNEL" ] || KERNEL="$VMDIR/vmlinuz"
# systemd.wants=: the image's /etc default.target (multi-user) hides the one systemd-run-generator makes,
# so pull the generated service in from there. No % or $ in the systemd.run command: it becomes an ExecStart= line (specifiers, variables).
RUN="mkdir -p /mnt/vmctl && mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 vmctl /mnt/vmctl && exec /bin/bash /mnt/vmctl/runner"
APPEND="root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=1 mitigations=off systemd.show_status=false systemd.unified_cgroup_hierarchy=1"
APPEND+=" systemd.mask=vm-runner.service systemd.wants=kernel-command-line.service systemd.run=\"/bin/sh -c '$RUN'\""
[ "${VM_DEBUG:-0}" = 1 ] && APPEND=${APPEND/quiet loglevel=3 /} && APPEND=${APPEND/systemd.show_status=false /}

T0=$(date +%s.%N)
TMPDIR="$CTL" timeout --foreground -k 10 "${VM_TIMEOUT:-3600}" \
qemu-system-x86_64 -machine pc -accel tcg,thread=multi -cpu "${VM_CPU:-max}" \
  -smp "${VM_CPUS:-2}" -m "${VM_MEM:-4096}" \
  -kernel "$KERNEL" -initrd "$VMDIR/initrd.img" -append "$APPEND" \
  -drive "file=$VMDIR/rootfs.img,if=virtio,format=raw,snapshot=on" \
  -virtfs "local,path=${CTL//,/,,},mount_tag=vmctl,security_model=none" \
  -nic none -display none -monitor none -serial "file:$CTL/console.log" \
  -no-reboot </dev/null &
QPID=$!
tail -n +1 -F --pid=$QPID "$CTL/output.log" 2>/dev/null &
TPID=$!
set +e
wait $QPID; QRC=$?
wait $TPID 2>/dev/null
set -e
QPID= TPID=
T1=$(date +%s.%N)
if [ -s "$CTL/exit-code" ]; then
  RC=$(cat "$CTL/exit-code")
else
  echo "run-in-vm: no exit code from the guest (qemu rc=$QRC, timeout is rc 124); console tail:" >&2
  tail -n 40 "$CTL/console.log" >&2 || true
  RC=125
fi
if [ "${VM_VERBOSE:-0}" = 1 ]; then
  echo "run-in-vm: wall $(awk "BEGIN{printf \"%.1f\", $T1-$T0}")s; guest uptime marks:" $(tr '\n' ' ' < "$CTL/timing" 2>/dev/null) >&2
  [ "${VM_KEEP:-0}" = 1 ] && echo "run-in-vm: control dir kept at $CTL" >&2
fi
exit "$RC"
