// What to tell a user whose host is not ready for cgroups, each with the command that fixes it. These
// are the walls users of runc and podman hit again and again.

/** No user bus to reach systemd --user. */
export function noUserBusHint(user: string): string {
  return `start a systemd user session with its bus: apt-get install dbus-user-session && loginctl enable-linger ${user}, then log in again`;
}

/** XDG_RUNTIME_DIR points at someone else's runtime directory (su/sudo keep the old one). */
export function wrongRuntimeDirHint(dir: string, uid: number): string {
  return `XDG_RUNTIME_DIR=${dir} is not yours (left by su or sudo?): log in as the user (ssh, or machinectl shell USER@) or export XDG_RUNTIME_DIR=/run/user/${uid}`;
}

/** The controllers a limit needs are not delegated to the user. */
export function notDelegatedHint(controllers: string[]): string {
  return (
    `delegate ${controllers.join(', ')} to users: mkdir -p /etc/systemd/system/user@.service.d && ` +
    `printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' > /etc/systemd/system/user@.service.d/delegate.conf && ` +
    `systemctl daemon-reload, then log in again`
  );
}

/** The caller's cgroup is not one it owns, so nothing can be moved out of it. */
export function notOwnCgroupHint(): string {
  return 'run tsrunc from a cgroup you own: systemd-run --user --scope -p Delegate=yes tsrunc …';
}

/** cgroup.procs: Permission denied. */
export function procsEaccesHint(): string {
  return 'moving a process needs write access to cgroup.procs of the common ancestor of its old and new cgroup: ' + notOwnCgroupHint();
}

/** A controller a cgroup v1 hierarchy holds (hybrid host): cgroup v2 cannot have it. */
export function v1HeldHint(): string {
  return `held by cgroup v1 on this hybrid host (cgroup v2 gets only the controllers v1 does not use): ${cgroupV1Hint()}`;
}

/** The host has only cgroup v1. */
export function cgroupV1Hint(): string {
  return 'boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line)';
}
