// Doctor checks for the kernel and the libraries tsrunc uses: the syscalls of the init core, the time
// namespace, libtsrunc.so itself, libseccomp, and whether this host is itself a container.
import { ENOSYS, errnoName, verdict } from './format.js';
import type { CheckId, DoctorFacts, Probe, Verdict } from './types.js';

interface Feature {
  id: CheckId & keyof DoctorFacts['kernel'];
  title: string;
  since: string;
  /** Without it tsrunc cannot run containers at all (problem), or only loses a feature (warning). */
  required: boolean;
  without: string;
}

const FEATURES: Feature[] = [
  { id: 'pidfd_open', title: 'pidfd_open', since: '5.3', required: true, without: 'tsrunc cannot wait for or signal containers' },
  { id: 'clone3', title: 'clone3', since: '5.3', required: true, without: 'tsrunc cannot create containers' },
  { id: 'close_range', title: 'close_range', since: '5.11', required: true, without: 'the init core cannot close inherited fds' },
  { id: 'openat2', title: 'openat2', since: '5.6', required: true, without: 'paths inside the rootfs cannot be resolved safely' },
  { id: 'mount_setattr', title: 'idmapped mounts', since: '5.12', required: false, without: 'idmap mounts and recursive mount options (rro…) are refused' },
];

const KERNEL_FIX = (since: string) => `run a kernel >= ${since} (Debian 12: sudo apt-get install linux-image-amd64, or bookworm-backports)`;

function feature(f: DoctorFacts, x: Feature): Verdict {
  const r: Probe = f.kernel[x.id];
  if (r === 0) return verdict(x.id, x.title, 'ok', x.id === 'mount_setattr' ? 'mount_setattr available' : 'available');
  if (r === null) return verdict(x.id, x.title, 'warning', 'unknown: the native library is not built', 'npm run build');
  const level = x.required ? 'problem' : 'warning';
  if (r === ENOSYS) return verdict(x.id, x.title, level, `missing (ENOSYS, needs Linux ${x.since}): ${x.without}`, KERNEL_FIX(x.since));
  const nested = f.nestedHints.length > 0 ? 'a seccomp profile of the outer container?' : 'a seccomp filter?';
  return verdict(x.id, x.title, level, `refused (${errnoName(r)}; ${nested}): ${x.without}`,
    f.nestedHints.length > 0 ? 'run the outer container with a seccomp profile that allows it (docker run --security-opt seccomp=unconfined)' : KERNEL_FIX(x.since));
}

/** One verdict per kernel feature tsrunc uses. */
export function checkKernel(f: DoctorFacts): Verdict[] {
  const out = FEATURES.map((x) => feature(f, x));
  out.push(f.kernel.timeNamespace
    ? verdict('time-namespace', 'time namespace', 'ok', 'available')
    : verdict('time-namespace', 'time namespace', 'warning', 'missing (needs Linux 5.6): configs with a time namespace are refused', KERNEL_FIX('5.6')));
  return out;
}

export function checkNativeLibrary(f: DoctorFacts): Verdict {
  if (f.nativeLibrary !== null) return verdict('native-library', 'native library', 'ok', f.nativeLibrary);
  return verdict('native-library', 'native library', 'problem', 'libtsrunc.so is not built: no container can start',
    'npm rebuild tsrunc, or npm run build in its directory (needs gcc, make, libc6-dev)');
}

export function checkLibseccomp(f: DoctorFacts): Verdict {
  if (f.libseccomp !== null) return verdict('libseccomp', 'libseccomp', 'ok', `libseccomp ${f.libseccomp}`);
  return verdict('libseccomp', 'libseccomp', 'warning', 'libseccomp.so.2 cannot be loaded: configs with linux.seccomp are refused',
    'sudo apt-get install libseccomp2 (Fedora: sudo dnf install libseccomp)');
}

/**
 * Running inside another container is fine when the checks above pass; it is the likely cause when
 * user namespaces or syscalls are refused, so then it is a warning with the outer runtime's fix.
 */
export function checkNested(f: DoctorFacts): Verdict {
  if (f.nestedHints.length === 0) return verdict('nested', 'nested', 'ok', 'not inside another container');
  const where = `inside another container (${f.nestedHints.join(', ')})`;
  const blocked = f.usernsProbe !== null && f.usernsProbe !== 0;
  const syscalls = FEATURES.some((x) => x.required && f.kernel[x.id] !== null && f.kernel[x.id] !== 0 && f.kernel[x.id] !== ENOSYS);
  if (!blocked && !syscalls) return verdict('nested', 'nested', 'ok', `${where}; it allows what tsrunc needs`);
  return verdict('nested', 'nested', 'warning', `${where}, which refuses what tsrunc needs`,
    'run the outer container with user namespaces and these syscalls allowed (docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined, podman run --security-opt …)');
}
