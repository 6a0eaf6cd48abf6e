// Linux capability names (as the OCI config spells them) and their bit numbers, and the masks capset(2)
// and the bounding/ambient operations take.

/** CAP_* names by bit number, 0 (CAP_CHOWN) … 40 (CAP_CHECKPOINT_RESTORE), as in linux/capability.h. */
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof CAPABILITIES)[number];

/** The highest capability tsrunc knows (the kernel's may be lower: /proc/sys/kernel/cap_last_cap). */
export const LAST_CAP = CAPABILITIES.length - 1;

const byName: ReadonlyMap<string, number> = new Map(CAPABILITIES.map((name, bit) => [name, bit]));

/**
 * The bit number of a capability name, or undefined. Names are matched exactly ("CAP_KILL"), as runc
 * does: "cap_kill" or "KILL" are unknown.
 */
export function capNumber(name: string): number | undefined {
  return byName.get(name);
}

/** The name of capability bit `bit`, or undefined. */
export function capName(bit: number): CapabilityName | undefined {
  return CAPABILITIES[bit];
}

/**
 * The mask of `names` (bit i = capability i). Unknown names, and those above `lastCap` (capabilities
 * the running kernel does not have), are skipped and reported to `onUnknown`, as runc warns and
 * ignores them.
 */
export function capMask(names: readonly string[], onUnknown?: (name: string) => void, lastCap: number = LAST_CAP): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = byName.get(name);
    if (bit === undefined || bit > lastCap) onUnknown?.(name);
    else mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** The names of the bits set in `mask`, lowest first; bits above the known set are named "CAP_<n>". */
export function capNames(mask: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(CAPABILITIES[bit] ?? `CAP_${bit}`);
  }
  return out;
}
