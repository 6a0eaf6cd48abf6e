// Mount options of config.json turned into mount(2) flags, propagation, mount_setattr(2) attributes
// and the data string, following runc's table (libcontainer/specconv parseMountOptions) option by option.

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_POSIXACL = 0x10000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_KERNMOUNT = 0x400000;
export const MS_I_VERSION = 0x800000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;
/** The access-time field: one of RELATIME (0), NOATIME, STRICTATIME; set it only with this in attr_clr. */
export const MOUNT_ATTR__ATIME = 0x70;
export const MOUNT_ATTR_RELATIME = 0x0;
export const MOUNT_ATTR_NOATIME = 0x10;
export const MOUNT_ATTR_STRICTATIME = 0x20;
export const MOUNT_ATTR_NODIRATIME = 0x80;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

/** option → [clear?, MS_* flag]. "defaults" has no flag. */
const FLAGS: Readonly<Record<string, readonly [boolean, number]>> = {
  async: [true, MS_SYNCHRONOUS],
  atime: [true, MS_NOATIME],
  bind: [false, MS_BIND],
  defaults: [false, 0],
  dev: [true, MS_NODEV],
  diratime: [true, MS_NODIRATIME],
  dirsync: [false, MS_DIRSYNC],
  exec: [true, MS_NOEXEC],
  iversion: [false, MS_I_VERSION],
  lazytime: [false, MS_LAZYTIME],
  loud: [true, MS_SILENT],
  mand: [false, MS_MANDLOCK],
  noatime: [false, MS_NOATIME],
  nodev: [false, MS_NODEV],
  nodiratime: [false, MS_NODIRATIME],
  noexec: [false, MS_NOEXEC],
  noiversion: [true, MS_I_VERSION],
  nolazytime: [true, MS_LAZYTIME],
  nomand: [true, MS_MANDLOCK],
  norelatime: [true, MS_RELATIME],
  nostrictatime: [true, MS_STRICTATIME],
  nosuid: [false, MS_NOSUID],
  nosymfollow: [false, MS_NOSYMFOLLOW],
  rbind: [false, MS_BIND | MS_REC],
  relatime: [false, MS_RELATIME],
  remount: [false, MS_REMOUNT],
  ro: [false, MS_RDONLY],
  rw: [true, MS_RDONLY],
  silent: [false, MS_SILENT],
  strictatime: [false, MS_STRICTATIME],
  suid: [true, MS_NOSUID],
  symfollow: [true, MS_NOSYMFOLLOW],
  sync: [false, MS_SYNCHRONOUS],
};

export const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

/** option → [clear?, MOUNT_ATTR_*], applied recursively with mount_setattr(AT_RECURSIVE). */
const REC_ATTRS: Readonly<Record<string, readonly [boolean, number]>> = {
  rro: [false, MOUNT_ATTR_RDONLY],
  rrw: [true, MOUNT_ATTR_RDONLY],
  rnosuid: [false, MOUNT_ATTR_NOSUID],
  rsuid: [true, MOUNT_ATTR_NOSUID],
  rnodev: [false, MOUNT_ATTR_NODEV],
  rdev: [true, MOUNT_ATTR_NODEV],
  rnoexec: [false, MOUNT_ATTR_NOEXEC],
  rexec: [true, MOUNT_ATTR_NOEXEC],
  rnodiratime: [false, MOUNT_ATTR_NODIRATIME],
  rdiratime: [true, MOUNT_ATTR_NODIRATIME],
  rrelatime: [false, MOUNT_ATTR_RELATIME],
  rnorelatime: [true, MOUNT_ATTR_RELATIME],
  rnoatime: [false, MOUNT_ATTR_NOATIME],
  ratime: [true, MOUNT_ATTR_NOATIME],
  rstrictatime: [false, MOUNT_ATTR_STRICTATIME],
  rnostrictatime: [true, MOUNT_ATTR_STRICTATIME],
  rnosymfollow: [false, MOUNT_ATTR_NOSYMFOLLOW],
  rsymfollow: [true, MOUNT_ATTR_NOSYMFOLLOW],
};

export interface MountOptions {
  /** MS_* flags to set (bind, rbind, ro, nosuid…). */
  flags: number;
  /** MS_* flags the options explicitly cleared (rw, suid, dev…): a remount must not keep them. */
  clearFlags: number;
  /**
   * Propagation to apply after the mount, 0 for none. runc applies each propagation option in turn;
   * the last one is what remains, so that is this value (`propagations` has them all).
   */
  propagation: number;
  /** Every propagation option's MS_* value, in order. */
  propagations: number[];
  /** MOUNT_ATTR_* to set / clear recursively (the "r*" options). */
  attrSet: number;
  attrClr: number;
  /** Filesystem-specific options, comma-joined, for mount(2)'s data argument. */
  data: string;
  /** MS_BIND is set ("bind" or "rbind"). */
  bind: boolean;
  /** MS_REC is set ("rbind"). */
  recursive: boolean;
  /** runc's "tmpcopyup": copy the directory's content into a new tmpfs mounted over it. */
  tmpcopyup: boolean;
  /** runc's "idmap" / "ridmap": an id-mapped bind mount (recursive for ridmap), null when absent. */
  idmap: { recursive: boolean } | null;
}

/** Parses a mount's options. Pure: options runc does not know go to `data` unchanged, as in runc. */
export function parseMountOptions(options: readonly string[]): MountOptions {
  let flags = 0;
  let clearFlags = 0;
  let attrSet = 0;
  let attrClr = 0;
  let tmpcopyup = false;
  let idmap: { recursive: boolean } | null = null;
  const propagations: number[] = [];
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (f !== undefined) {
      // "defaults" only means "nothing special" (runc passes it on as data, which tmpfs rejects).
      const [clear, flag] = f;
      if (clear) {
        flags &= ~flag;
        clearFlags |= flag;
      } else {
        flags |= flag;
        clearFlags &= ~flag;
      }
      continue;
    }
    const p = PROPAGATION[o];
    if (p !== undefined) {
      propagations.push(p);
      continue;
    }
    const a = REC_ATTRS[o];
    if (a !== undefined) {
      const [clear, attr] = a;
      if (clear) {
        attrClr |= attr;
        attrSet &= ~attr;
      } else {
        attrSet |= attr;
        attrClr &= ~attr;
        // mount_setattr(2): an access-time value is only taken with MOUNT_ATTR__ATIME in attr_clr.
        if ((attr & MOUNT_ATTR__ATIME) === attr) attrClr |= MOUNT_ATTR__ATIME;
      }
      continue;
    }
    if (o === 'tmpcopyup') tmpcopyup = true;
    else if (o === 'idmap') idmap = { recursive: false };
    else if (o === 'ridmap') idmap = { recursive: true };
    else data.push(o);
  }
  return {
    flags,
    clearFlags,
    propagation: propagations.length > 0 ? propagations[propagations.length - 1]! : 0,
    propagations,
    attrSet,
    attrClr,
    data: data.join(','),
    bind: (flags & MS_BIND) !== 0,
    recursive: (flags & MS_REC) !== 0,
    tmpcopyup,
    idmap,
  };
}

/** True when the options make a bind mount ("bind" or "rbind" among them). */
export function isBindMount(options: readonly string[] | undefined): boolean {
  return (options ?? []).some((o) => o === 'bind' || o === 'rbind');
}
