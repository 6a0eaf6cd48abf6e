// The facts `tsrunc doctor` gathers about the host and the caller (plain data, read by facts.ts) and the
// verdicts its checks turn them into. Checks are pure: facts in, verdicts out.
import type { IdRange } from '../subid.js';

export type Status = 'ok' | 'warning' | 'problem';

/** One line of the report. `fix` is the command (or action) that fixes a warning or a problem. */
export interface Verdict {
  id: CheckId;
  title: string;
  status: Status;
  detail: string;
  fix?: string;
}

export type CheckId =
  | 'userns'
  | 'newuidmap'
  | 'newgidmap'
  | 'subuid'
  | 'subgid'
  | 'runtime-dir'
  | 'user-bus'
  | 'linger'
  | 'cgroup-mode'
  | 'own-cgroup'
  | 'controllers'
  | 'pidfd_open'
  | 'clone3'
  | 'close_range'
  | 'openat2'
  | 'mount_setattr'
  | 'time-namespace'
  | 'native-library'
  | 'libseccomp'
  | 'nested';

/** 0 when a probe worked, -errno when it failed, null when it could not be run. */
export type Probe = number | null;

export interface MapHelperFacts {
  /** Where it was found in PATH, or null. */
  path: string | null;
  /** Owned by root with the setuid bit. */
  setuidRoot: boolean;
  /** Permitted file capabilities (low 32 bits), 0 for none, null when unknown. */
  fileCaps: number | null;
}

export interface DoctorFacts {
  uid: number;
  /** The login name of uid, when /etc/passwd has one. */
  user: string | undefined;
  /** Real root (euid 0 in the initial user namespace): rootless-only checks do not apply. */
  isRoot: boolean;
  sysctl: {
    maxUserNamespaces: number | null;
    /** Debian's and older Ubuntu's knob; null where the kernel has no such sysctl. */
    unprivilegedUsernsClone: number | null;
    /** Ubuntu 23.10+'s AppArmor restriction; null where absent. */
    apparmorRestrictUserns: number | null;
  };
  /** Creating a user namespace from a child process. */
  usernsProbe: Probe;
  newuidmap: MapHelperFacts;
  newgidmap: MapHelperFacts;
  subuid: IdRange[];
  subgid: IdRange[];
  /** The first ID above every range handed out in /etc/subuid and /etc/subgid (at least 100000). */
  nextFreeSubId: number;
  runtimeDir: {
    value: string | undefined;
    owner: number | null;
    mode: number | null;
    /** /run/user/<uid> when it exists and is the caller's. */
    usual: string | null;
  };
  bus: {
    /** 'user' for a rootless caller, 'system' for root. */
    kind: 'user' | 'system';
    /** DBUS_SESSION_BUS_ADDRESS as given (user bus only). */
    address: string | undefined;
    /** The socket that was tried, or null when none could be named. */
    socket: string | null;
    reachable: boolean;
    /** Why connecting failed (ENOENT, ECONNREFUSED…). */
    error?: string;
    /** The default socket ($XDG_RUNTIME_DIR/bus) answers even though `address` does not. */
    defaultReachable?: boolean;
    systemdVersion: string | null;
  };
  /** systemd is PID 1 (/run/systemd/system exists). */
  systemdBooted: boolean;
  lingering: boolean;
  cgroup: {
    mode: 'unified' | 'hybrid' | 'legacy';
    mountPoint: string | null;
    /** The caller's cgroup2 path ("0::" of /proc/self/cgroup). */
    ownPath: string;
    /** Owner of the caller's cgroup directory, null when it cannot be read. */
    ownOwner: number | null;
    /** cgroup.procs of the caller's cgroup is writable by the caller. */
    ownWritable: boolean;
    /**
     * cgroup.controllers of where a rootless container's cgroup goes: the user manager's
     * user@UID.service when it exists (systemd makes the scopes there), else the caller's own cgroup;
     * null when unreadable.
     */
    controllers: string[] | null;
    /** The hierarchy path `controllers` was read from. */
    controllersOf: string;
  };
  kernel: {
    pidfd_open: Probe;
    clone3: Probe;
    close_range: Probe;
    openat2: Probe;
    mount_setattr: Probe;
    timeNamespace: boolean;
  };
  /** libtsrunc.so, or null when it is not built. */
  nativeLibrary: string | null;
  /** libseccomp's version, or null when it cannot be loaded. */
  libseccomp: string | null;
  /** What says we run inside another container ("/.dockerenv", "container=podman in /proc/1/environ"…). */
  nestedHints: string[];
}
