// OCI namespace types and their kernel names: the CLONE_NEW* flag for clone/unshare/setns and the
// file under /proc/<pid>/ns/.
import type { NamespaceType } from '../spec/schema.js';

export const CLONE_NEWTIME = 0x00000080;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

interface NamespaceInfo {
  /** CLONE_NEW* flag (all below 2^31, so they OR together as plain numbers). */
  flag: number;
  /** Name of the file in /proc/<pid>/ns/. */
  procName: string;
}

const INFO: Record<NamespaceType, NamespaceInfo> = {
  pid: { flag: CLONE_NEWPID, procName: 'pid' },
  network: { flag: CLONE_NEWNET, procName: 'net' },
  mount: { flag: CLONE_NEWNS, procName: 'mnt' },
  ipc: { flag: CLONE_NEWIPC, procName: 'ipc' },
  uts: { flag: CLONE_NEWUTS, procName: 'uts' },
  user: { flag: CLONE_NEWUSER, procName: 'user' },
  cgroup: { flag: CLONE_NEWCGROUP, procName: 'cgroup' },
  time: { flag: CLONE_NEWTIME, procName: 'time' },
};

/** The CLONE_NEW* flag of a namespace type. */
export function namespaceFlag(type: NamespaceType): number {
  return INFO[type].flag;
}

/** The /proc/<pid>/ns/ file name of a namespace type ("network" → "net", "mount" → "mnt"). */
export function namespaceProcName(type: NamespaceType): string {
  return INFO[type].procName;
}

/** The OR of the CLONE_NEW* flags of `types`. */
export function namespaceFlags(types: readonly NamespaceType[]): number {
  return types.reduce((acc, t) => acc | INFO[t].flag, 0);
}

/** The namespace type of a CLONE_NEW* flag, or undefined. */
export function namespaceTypeOfFlag(flag: number): NamespaceType | undefined {
  return (Object.keys(INFO) as NamespaceType[]).find((t) => INFO[t].flag === flag);
}
