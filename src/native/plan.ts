// The plan: the flat list of operations the C init core runs between clone() and execve().
// TypeScript compiles config.json into this; helpers/ only interprets it and knows nothing of OCI.

/** Where an op came from in config.json, so a failure in the child is reported as a config field. */
export interface Origin {
  /** JSON pointer into config.json, e.g. "/mounts/3". */
  pointer: string;
  /** A short human hint shown after the pointer, e.g. the mount destination "/data". */
  what?: string;
}

/**
 * One operation. Paths named `target`/`path` are container paths (absolute, as the container sees
 * them). Before `pivot-root`/`chroot` the C core resolves them inside the rootfs without letting a
 * symlink leave it (openat2 RESOLVE_IN_ROOT, creating what is missing); after, they are plain paths in
 * the container's own root.
 */
export type Op =
  // --- before pivot_root: the host's paths are still visible ---
  /** Set propagation of "/" (MS_REC|MS_SLAVE by default), then bind the rootfs onto itself (MS_REC). */
  | { op: 'prepare-root'; rootfs: string; propagation: number; origin: Origin }
  /**
   * mount(2) onto a target inside the rootfs. `create` says what to create when the target is
   * missing. For binds (`flags` has MS_BIND), `source` is a host path and when `remountFlags` is not
   * null the bind is remounted (MS_BIND|MS_REMOUNT|remountFlags|the flags the kernel locked, read
   * back with statfs). `propagation` (MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, maybe |MS_REC) is
   * applied after, when not 0. `attrSet`/`attrClr` are MOUNT_ATTR_* applied recursively with
   * mount_setattr (the "rro", "rnosuid"… options), when not 0. When the mount fails with EPERM (or EBUSY) and
   * `fallbackBind` is set, that host path is rbind-mounted instead and remounted with `flags`
   * (sysfs without a network namespace, cgroup2 without a cgroup namespace). A tmpfs over an existing
   * directory takes that directory's mode (unless `data` has mode=) and, with `copyUp` (runc's
   * tmpcopyup), a copy of its tree, both before the remount.
   */
  | {
      op: 'mount';
      source: string;
      target: string;
      fstype: string;
      flags: number;
      data: string;
      create: 'dir' | 'file';
      remountFlags: number | null;
      propagation: number;
      attrSet: number;
      attrClr: number;
      fallbackBind: string | null;
      copyUp?: boolean;
      origin: Origin;
    }
  /** A device node: bind-mounted from the host path `source` (in a user namespace) or mknod'ed. */
  | {
      op: 'device';
      target: string;
      how: 'bind' | 'mknod';
      source: string;
      /** S_IFCHR/S_IFBLK/S_IFIFO | permission bits, for mknod. */
      mode: number;
      major: number;
      minor: number;
      uid: number;
      gid: number;
      origin: Origin;
    }
  /** symlink(linkTo, target), target inside the rootfs; an existing entry is left alone. */
  | { op: 'symlink'; target: string; linkTo: string; origin: Origin }
  /** pivot_root into the rootfs and detach the old root. */
  | { op: 'pivot-root'; origin: Origin }
  /** --no-pivot: MS_MOVE the rootfs onto / and chroot. */
  | { op: 'chroot'; origin: Origin }
  // --- after pivot_root: container paths ---
  /** mount(""", "/", propagation) — the rootfsPropagation of the config. */
  | { op: 'root-propagation'; propagation: number; origin: Origin }
  /** Bind /dev/null over a file, or a read-only empty tmpfs over a directory; missing paths are skipped. */
  | { op: 'mask'; path: string; origin: Origin }
  /** Bind a path onto itself and remount it read-only (keeping locked flags); missing paths are skipped. */
  | { op: 'readonly'; path: string; origin: Origin }
  /** mkdir -p in the container's root after pivot (runc creates a missing process.cwd). */
  | { op: 'mkdir'; path: string; mode: number; origin: Origin }
  /** Remount "/" read-only (root.readonly), keeping locked flags. */
  | { op: 'readonly-root'; origin: Origin }
  | { op: 'sethostname'; name: string; origin: Origin }
  | { op: 'setdomainname'; name: string; origin: Origin }
  /** Bring the loopback interface up (a new network namespace, as runc does). */
  | { op: 'loopback-up'; origin: Origin }
  /** Write /proc/self/oom_score_adj. */
  | { op: 'oom-score-adj'; value: number; origin: Origin }
  /** setrlimit/prlimit; values are u64 (RLIM_INFINITY = 2^64-1), hence bigint. */
  | { op: 'rlimit'; resource: number; soft: bigint; hard: bigint; origin: Origin }
  /** Drop every capability from the bounding set that is not in `keep` (bit i = capability i). */
  | { op: 'cap-bounding'; keep: bigint; origin: Origin }
  /** prctl(PR_SET_KEEPCAPS, on). */
  | { op: 'keep-caps'; on: boolean; origin: Origin }
  | { op: 'setgroups'; gids: number[]; origin: Origin }
  | { op: 'setresgid'; gid: number; origin: Origin }
  | { op: 'setresuid'; uid: number; origin: Origin }
  /** capset(effective, permitted, inheritable). */
  | { op: 'capset'; effective: bigint; permitted: bigint; inheritable: bigint; origin: Origin }
  /** Clear the ambient set, then raise each capability in `raise`. */
  | { op: 'ambient'; raise: bigint; origin: Origin }
  | { op: 'no-new-privs'; origin: Origin }
  | { op: 'umask'; mask: number; origin: Origin }
  | { op: 'chdir'; path: string; origin: Origin }
  /**
   * Tell the parent we reached point `tag` and wait for it to say continue (hooks that must run at a
   * precise moment of the child's setup).
   */
  | { op: 'sync'; tag: number; origin: Origin }
  /**
   * A hook point: hand the parent fds of the child's own namespaces (user, mnt, pid, net, uts, ipc,
   * cgroup) and wait for it to say continue, so that it can run hooks inside them. Before `wait-start`
   * on the sync socket (a `sync` message with `fds`), after it on the start connection.
   */
  | { op: 'hook-point'; tag: number; origin: Origin }
  /**
   * An idmapped bind (before pivot_root): the child clones the host path `source` into a detached tree
   * (recursively for ridmap/rbind), hands it to the parent (an 'idmap' message with the fd), which
   * idmaps it, then attaches it onto `target` inside the rootfs.
   */
  | { op: 'idmap-mount'; source: string; target: string; create: 'dir' | 'file'; recursive: boolean; origin: Origin }
  /**
   * process.terminal: open a pty in the container's /dev/ptmx (after pivot_root), size it, give the
   * replica to `uid` (null: leave it), bind it on /dev/console when `mountConsole`, hand the master to
   * the parent (a `sync` message tagged CONSOLE_TAG with one fd), then make the replica fds 0-2 and
   * the controlling terminal.
   */
  | { op: 'console'; rows: number; cols: number; mountConsole: boolean; uid: number | null; origin: Origin }
  /**
   * Look `file` up like execvp (in `searchPath` when it has no '/'), as the container sees it, and
   * keep the result for `exec`. Done before the start barrier so `create` reports a missing binary.
   */
  | { op: 'resolve-exec'; file: string; searchPath: string; origin: Origin }
  /**
   * The exec barrier: report READY to the parent, close the sync socket, then wait until `start`
   * connects to the start socket.
   */
  | { op: 'wait-start'; origin: Origin }
  /** Reset signals, mark every fd >= 3 + preserveFds close-on-exec, execve the resolved file. */
  | { op: 'exec'; argv: string[]; envp: string[]; origin: Origin }
  /**
   * seccomp(SECCOMP_SET_MODE_FILTER, flags, program): `program` is the BPF (struct sock_filter[],
   * 8 bytes each) libseccomp compiled in the parent. 'defer' loads it right before execve (wherever the
   * op sits); 'now' loads it here (without no_new_privs it needs CAP_SYS_ADMIN, so before the caps
   * are dropped). With SECCOMP_FILTER_FLAG_NEW_LISTENER ('now' only, before `wait-start`) the child
   * sends the listener fd to the parent and waits for "go".
   */
  | { op: 'seccomp'; program: Uint8Array; flags: number; when: 'now' | 'defer'; origin: Origin }
  /**
   * One write of `data` to a container file after pivot_root (/proc/sys/… for linux.sysctl,
   * /proc/self/attr/… for LSM labels), resolved in the root with no magic link.
   */
  | { op: 'write-file'; path: string; data: string; origin: Origin }
  /** personality(2): the execution domain (PER_LINUX 0, PER_LINUX32 8). */
  | { op: 'personality'; persona: number; origin: Origin }
  /** sched_setattr(2) on the process (policy and flags as the kernel numbers them). */
  | { op: 'scheduler'; policy: number; flags: bigint; nice: number; priority: number; runtime: bigint; deadline: bigint; period: bigint; origin: Origin }
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, value): class << 13 | level. */
  | { op: 'ioprio'; value: number; origin: Origin };

/** What the C core needs besides the ops to create the child. */
export interface SpawnRequest {
  /** CLONE_NEW* flags of the namespaces to create. */
  newNamespaces: number;
  /** Namespaces to join, in order (the user namespace first): setns(fd, flag). fds owned by the caller. */
  joinNamespaces: { flag: number; fd: number; origin: Origin }[];
  /** fds 3 .. 3+preserveFds-1 are handed to the container unchanged. */
  preserveFds: number;
  /** Path where the start socket is bound (short: use /proc/self/fd/<dirfd>/start.sock). Empty: no
   * start socket (then the plan may not contain `wait-start`). */
  startSocketPath: string;
  /**
   * fds of the caller that become the child's 0, 1, 2 (dup2'd right after clone); -1 or absent keeps
   * the caller's own. Added by the native core: needed for a terminal (the pty's replica) and for
   * stdio other than the runtime's own.
   */
  stdio?: [number, number, number];
  /** After setsid, make fd 0 (a terminal) the controlling terminal (TIOCSCTTY). Added by the native core. */
  setCtty?: boolean;
  /** linux.timeOffsets as /proc/self/timens_offsets takes them ("monotonic 5 0\n…"); needs CLONE_NEWTIME in newNamespaces. */
  timeOffsets?: string;
  ops: Op[];
}

/** A child created by the C core and stopped at its first sync point (waiting for "go"). */
export interface Spawned {
  /** pid of the child in the caller's pid namespace (of the container's init once known). */
  pid: number;
  /** pidfd of that process. */
  pidfd: number;
  /** The parent's end of the sync socket. */
  syncFd: number;
}
