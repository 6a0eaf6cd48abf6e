// Which Linux security modules and resource-control filesystems this host has: what decides whether
// process.apparmorProfile, process.selinuxLabel, linux.mountLabel and linux.intelRdt can be honoured.
import { readFileSync, statSync } from 'node:fs';

export interface HostSecurity {
  /** AppArmor is enabled (it confines on exec through /proc/self/attr/apparmor/exec). */
  apparmor: boolean;
  /** SELinux is enabled (labels on exec through /proc/self/attr/exec). */
  selinux: boolean;
  /** The resctrl filesystem (Intel RDT / AMD QoS) is mounted. */
  resctrl: boolean;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The host's security facts, read from /sys and /proc (cheap: three small files). */
export function hostSecurity(): HostSecurity {
  const lsms = read('/sys/kernel/security/lsm').split(',');
  const mounts = read('/proc/self/mounts');
  return {
    apparmor: read('/sys/module/apparmor/parameters/enabled').trim() === 'Y' || lsms.includes('apparmor'),
    selinux: / selinuxfs /.test(mounts) || lsms.includes('selinux'),
    resctrl: / resctrl /.test(mounts),
  };
}

/**
 * The config joins a network namespace (linux.namespaces[].path) that is this process's own, i.e. the
 * host's: net.* sysctls there would change the host (runc refuses them the same way).
 */
export function joinsHostNetwork(namespaces: readonly { type: string; path?: string }[] | undefined): boolean {
  const net = (namespaces ?? []).find((n) => n.type === 'network' && (n.path ?? '') !== '');
  if (net === undefined) return false;
  try {
    const a = statSync(net.path!);
    const b = statSync('/proc/self/ns/net');
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}
