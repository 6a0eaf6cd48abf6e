// tsrunc features: what this build supports, as the runtime-spec's features.md JSON (the shape
// `runc features` prints). Derived from the tables the runtime itself uses, and from the UNSUPPORTED
// table of validate.ts, so it cannot claim what a config would be refused for.
import { HOOK_KINDS, NAMESPACE_TYPES, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS, OCI_SPEC_VERSION } from '../spec/schema.js';
import { UNSUPPORTED } from '../spec/validate.js';
import { CAPABILITIES } from '../linux/capabilities.js';
import { parseMountOptions } from '../linux/mount-options.js';
import { VERSION } from '../version.js';

/** Every mount option runc knows (its features list); those tsrunc does not handle are left out. */
const KNOWN_MOUNT_OPTIONS = [
  'acl', 'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'idmap', 'iversion', 'lazytime', 'loud',
  'mand', 'noacl', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand', 'norelatime',
  'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'ratime', 'rbind', 'rdev', 'rdiratime', 'relatime', 'remount',
  'rexec', 'ridmap', 'rnoatime', 'rnodev', 'rnodiratime', 'rnoexec', 'rnorelatime', 'rnostrictatime', 'rnosuid',
  'rnosymfollow', 'ro', 'rprivate', 'rrelatime', 'rro', 'rrw', 'rshared', 'rslave', 'rstrictatime', 'rsuid',
  'rsymfollow', 'runbindable', 'rw', 'shared', 'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync',
  'tmpcopyup', 'unbindable',
];

function supported(field: string): boolean {
  return !UNSUPPORTED.some((row) => row.field === field);
}

/** The features document (runtime-spec features.md). */
export function features(): Record<string, unknown> {
  const idmap = supported('mounts[].options idmap/ridmap');
  const mountOptions = KNOWN_MOUNT_OPTIONS.filter((o) => {
    if (o === 'idmap' || o === 'ridmap') return idmap;
    return parseMountOptions([o]).data === '';
  });
  const seccomp = supported('linux.seccomp');
  const cgroups = supported('linux.resources');
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_SPEC_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions,
    linux: {
      namespaces: NAMESPACE_TYPES.filter((t) => t !== 'time' || supported('linux.timeOffsets')),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: false, v2: cgroups, systemd: cgroups, systemdUser: cgroups, rdma: false },
      seccomp: seccomp
        ? {
            enabled: true,
            actions: [...SECCOMP_ACTIONS],
            operators: [...SECCOMP_OPERATORS],
            archs: [...SECCOMP_ARCHES],
            knownFlags: [...SECCOMP_FLAGS],
            supportedFlags: [...SECCOMP_FLAGS],
          }
        : { enabled: false },
      apparmor: { enabled: supported('process.apparmorProfile') },
      selinux: { enabled: supported('process.selinuxLabel') },
      intelRdt: { enabled: supported('linux.intelRdt') },
      mountExtensions: { idmap: { enabled: idmap } },
    },
    annotations: { 'org.opencontainers.tsrunc.version': VERSION },
  };
}

export async function action(): Promise<number> {
  process.stdout.write(JSON.stringify(features(), null, 4) + '\n');
  return 0;
}
