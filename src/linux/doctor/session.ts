// Doctor checks for the caller's login session: XDG_RUNTIME_DIR, the user bus (and systemd's version
// behind it), lingering. These are what su/sudo and missing logind sessions break.
import { verdict, who } from './format.js';
import type { DoctorFacts, Verdict } from './types.js';

/** XDG_RUNTIME_DIR: set, existing, the caller's own (not root's after su), private. */
export function checkRuntimeDir(f: DoctorFacts): Verdict {
  const title = 'XDG_RUNTIME_DIR';
  const d = f.runtimeDir;
  if (f.isRoot) return verdict('runtime-dir', title, 'ok', 'not used as root (state in /run/tsrunc)');
  const login = `log in as ${who(f)} (ssh, or machinectl shell ${who(f)}@) so that logind makes /run/user/${f.uid}`;
  const fix = d.usual !== null ? `export XDG_RUNTIME_DIR=${d.usual}` : login;
  if (d.value === undefined || d.value === '') {
    return verdict('runtime-dir', title, 'problem', 'not set: state falls back to a temporary directory and the user bus cannot be found', fix);
  }
  if (d.owner === null) return verdict('runtime-dir', title, 'problem', `${d.value} does not exist`, fix);
  if (d.owner !== f.uid) {
    const whose = d.owner === 0 ? "root's" : `uid ${d.owner}'s`;
    return verdict('runtime-dir', title, 'problem', `${d.value} is ${whose}, not yours (left by su or sudo?)`,
      d.usual !== null ? `${fix} (or log in with su -l / machinectl shell ${who(f)}@)` : login);
  }
  if (d.mode !== null && (d.mode & 0o077) !== 0) {
    return verdict('runtime-dir', title, 'warning', `${d.value} is open to others (mode ${(d.mode & 0o777).toString(8)})`, `chmod 700 ${d.value}`);
  }
  return verdict('runtime-dir', title, 'ok', `${d.value} (yours, private)`);
}

/**
 * The user bus (the system bus as root) answers, and which systemd is behind it. A dead bus is a
 * problem when one is expected (an address is set, or systemd runs the host); on a host without
 * systemd it only means cgroups go through cgroupfs or nowhere.
 */
export function checkBus(f: DoctorFacts): Verdict {
  const b = f.bus;
  const title = b.kind === 'user' ? 'user bus' : 'system bus';
  if (b.reachable) {
    const version = b.systemdVersion !== null ? `systemd ${b.systemdVersion}` : 'no systemd manager answers on it';
    return verdict('user-bus', title, b.systemdVersion !== null ? 'ok' : 'warning', `${b.socket ?? b.address ?? '?'}: ${version}`,
      b.kind === 'user' ? `sudo loginctl enable-linger ${who(f)} (starts user@${f.uid}.service)` : 'boot with systemd as init, or leave out --systemd-cgroup');
  }
  const why = b.error !== undefined ? ` (${b.error})` : '';
  const dead = b.socket !== null ? `${b.socket} does not answer${why}` : 'no address to try (DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are unset)';
  if (b.kind === 'system') {
    return verdict('user-bus', title, 'warning', `${dead}: --systemd-cgroup cannot work`, 'start dbus and systemd, or leave out --systemd-cgroup');
  }
  if (b.address !== undefined && b.address !== '' && b.defaultReachable === true) {
    return verdict('user-bus', title, 'problem', `DBUS_SESSION_BUS_ADDRESS=${b.address} does not answer${why}; $XDG_RUNTIME_DIR/bus does`,
      'unset DBUS_SESSION_BUS_ADDRESS');
  }
  const expected = (b.address !== undefined && b.address !== '') || f.systemdBooted;
  const fix = `sudo apt-get install dbus-user-session && sudo loginctl enable-linger ${who(f)}, then log in again`;
  if (!expected) {
    return verdict('user-bus', title, 'warning', `${dead}: systemd is not running here, so cgroups go through cgroupfs or none`, fix);
  }
  return verdict('user-bus', title, 'problem', `${dead}: no systemd cgroups, no tsrunc@ units`, fix);
}

/** Lingering: the user manager (and tsrunc@ units) keep running without a login. */
export function checkLinger(f: DoctorFacts): Verdict {
  const title = 'lingering';
  if (f.isRoot) return verdict('linger', title, 'ok', 'not needed as root (system units)');
  if (f.lingering) return verdict('linger', title, 'ok', `enabled: your user units run without a login`);
  if (!f.systemdBooted) return verdict('linger', title, 'ok', 'not applicable: systemd does not run this host');
  return verdict('linger', title, 'warning', 'off: your tsrunc@ units stop when you log out', `loginctl enable-linger ${who(f)}`);
}
