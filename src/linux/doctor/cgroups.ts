// Doctor checks for cgroups: which hierarchy the host runs (v2, hybrid, v1), whether the caller owns
// its own cgroup, and which controllers are delegated to it.
import { verdict, who } from './format.js';
import type { DoctorFacts, Verdict } from './types.js';

/** The controllers resource limits need. */
export const LIMIT_CONTROLLERS = ['cpu', 'io', 'memory', 'pids'] as const;

const UNIFIED_FIX = 'boot with cgroup v2: add systemd.unified_cgroup_hierarchy=1 to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub and reboot)';

export function checkCgroupMode(f: DoctorFacts): Verdict {
  const c = f.cgroup;
  const title = 'cgroup mode';
  if (c.mode === 'unified') return verdict('cgroup-mode', title, 'ok', `cgroup v2 at ${c.mountPoint ?? '?'}`);
  if (c.mode === 'hybrid') {
    return verdict('cgroup-mode', title, 'warning', `hybrid (v1 controllers, cgroup2 at ${c.mountPoint ?? '?'}): tsrunc uses cgroup v2 only, so most limits cannot be applied`, UNIFIED_FIX);
  }
  return verdict('cgroup-mode', title, 'warning', 'cgroup v1 only: rootless containers run without cgroups', UNIFIED_FIX);
}

/** The caller's own cgroup: tsrunc can create sub-cgroups there (or systemd makes scopes for it). */
export function checkOwnCgroup(f: DoctorFacts): Verdict {
  const c = f.cgroup;
  const title = 'own cgroup';
  if (c.mountPoint === null) return verdict('own-cgroup', title, 'ok', 'not applicable: no cgroup2 hierarchy');
  if (f.isRoot || c.ownWritable) return verdict('own-cgroup', title, 'ok', `${c.ownPath}${f.isRoot ? '' : ' (yours)'}`);
  const owner = c.ownOwner === null ? 'not writable by you' : `owned by uid ${c.ownOwner}`;
  if (f.bus.reachable && f.bus.systemdVersion !== null) {
    return verdict('own-cgroup', title, 'ok', `${c.ownPath} is ${owner}; systemd makes a delegated scope per container`);
  }
  return verdict('own-cgroup', title, 'warning', `${c.ownPath} is ${owner}: rootless containers run without a cgroup of their own`,
    'run tsrunc from a cgroup you own: systemd-run --user --scope -p Delegate=yes tsrunc …');
}

/** Which controllers the caller's cgroup offers its children (what a container's limits can use). */
export function checkControllers(f: DoctorFacts): Verdict {
  const c = f.cgroup;
  const title = 'delegated controllers';
  if (c.mountPoint === null) return verdict('controllers', title, 'ok', 'not applicable: no cgroup2 hierarchy');
  if (c.controllers === null) {
    return verdict('controllers', title, 'warning', `cannot read cgroup.controllers of ${c.controllersOf}`,
      `check that ${c.mountPoint} is a readable cgroup2 mount (findmnt -t cgroup2)`);
  }
  const missing = LIMIT_CONTROLLERS.filter((x) => !c.controllers!.includes(x));
  const where = c.controllersOf === c.ownPath ? '' : ` (in ${c.controllersOf})`;
  const have = (c.controllers.length === 0 ? 'none' : c.controllers.join(' ')) + where;
  if (missing.length === 0) return verdict('controllers', title, 'ok', have);
  const fix = c.mode !== 'unified'
    ? UNIFIED_FIX
    : f.isRoot
      ? `enable them: echo "+${missing.join(' +')}" | sudo tee ${c.mountPoint}/cgroup.subtree_control`
      : `sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload, then log in again as ${who(f)}`;
  return verdict('controllers', title, 'warning', `${have}; missing ${missing.join(', ')}: limits on those are refused`, fix);
}
