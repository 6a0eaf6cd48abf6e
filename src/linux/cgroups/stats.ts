// runc's `events` statistics of a cgroup v2 cgroup: the JSON runc 1.1 prints (its types/events.go,
// fields in its order, Go's `omitempty`), filled from the cgroup files the way runc's fs2 driver reads
// them. Pure: the files come in as text through `read`; unsigned 64-bit values stay exact as bigints.

/** The text of one of the cgroup's files, or null when it does not exist. */
export type FileReader = (file: string) => string | null;

/** 2^64 − 1: what the kernel's "max" reads as in runc (GetCgroupParamUint). */
export const U64_MAX = (1n << 64n) - 1n;

export interface MemoryEntry {
  limit: bigint;
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

export interface BlkioEntry {
  major?: bigint;
  minor?: bigint;
  op?: string;
  value?: bigint;
}

/** types.Stats of runc 1.1 as cgroup v2 fills it (intel_rdt stays empty, no network interfaces). */
export interface RuncStats {
  cpu: {
    usage: { total?: bigint; kernel: bigint; user: bigint };
    throttling: { periods?: bigint; throttledPeriods?: bigint; throttledTime?: bigint };
  };
  /** cgroup v1's cpuset statistics: runc 1.1 reads none on v2, so the zeros without omitempty. */
  cpuset: Record<(typeof CPUSET_FIELDS)[number], bigint>;
  memory: { cache?: bigint; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, bigint> };
  pids: { current?: bigint; limit?: bigint };
  blkio: { ioServiceBytesRecursive?: BlkioEntry[]; ioServicedRecursive?: BlkioEntry[] };
  hugetlb: Record<string, { usage?: bigint; failcnt: bigint }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const CPUSET_FIELDS = ['cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page', 'memory_spread_slab', 'memory_pressure', 'sched_load_balance', 'sched_relax_domain_level'] as const;

/** A cgroup value: a decimal, or "max" as 2^64 − 1; null when it is neither. */
export function parseValue(word: string | undefined): bigint | null {
  if (word === 'max') return U64_MAX;
  return word !== undefined && /^\d+$/.test(word) ? BigInt(word) : null;
}

/** A flat-keyed file ("key value" lines: cpu.stat, memory.stat, memory.events) as a map. */
export function parseFlatKeyed(text: string | null): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    const v = parseValue(value);
    if (key !== undefined && key !== '' && v !== null && extra === undefined) out.set(key, v);
  }
  return out;
}

/** A single-value file (memory.current, pids.max…): its value, or null when absent or not a value. */
export function parseSingle(text: string | null): bigint | null {
  return text === null ? null : parseValue(text.trim());
}

/**
 * io.stat ("MAJ:MIN rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…" per device) as runc maps it onto
 * cgroup v1's tables: bytes → ioServiceBytesRecursive, operations → ioServicedRecursive, "Read"/"Write";
 * discards have no v1 table and are left out, as runc leaves them.
 */
export function parseIoStat(text: string | null): RuncStats['blkio'] {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  const tables: Record<string, [BlkioEntry[], string]> = { rbytes: [bytes, 'Read'], wbytes: [bytes, 'Write'], rios: [ios, 'Read'], wios: [ios, 'Write'] };
  for (const line of (text ?? '').split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(device ?? '');
    if (dev === null) continue;
    for (const pair of pairs) {
      const [key, raw] = pair.split('=');
      const table = tables[key ?? ''];
      const value = parseValue(raw);
      if (table === undefined || value === null) continue;
      table[0].push(omitZero({ major: BigInt(dev[1]!), minor: BigInt(dev[2]!), op: table[1], value }));
    }
  }
  return omitZero({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios });
}

/** What runcStats reads besides the cgroup's files. */
export interface StatsSources {
  read: FileReader;
  /** The huge page sizes the cgroup accounts ("2MB", "1GB"), from its hugetlb.<size>.current files. */
  hugepageSizes: string[];
  /** The number of processes in the cgroup, for pids.current when the pids controller is absent. */
  processCount: () => number;
}

/** The statistics of one cgroup as runc 1.1 prints them on cgroup v2. */
export function runcStats({ read, hugepageSizes, processCount }: StatsSources): RuncStats {
  const cpu = parseFlatKeyed(read('cpu.stat'));
  const us = (key: string) => (cpu.has(key) ? cpu.get(key)! * 1000n : undefined);
  const hugetlb: RuncStats['hugetlb'] = {};
  for (const size of [...hugepageSizes].sort()) {
    hugetlb[size] = omitZero({ usage: parseSingle(read(`hugetlb.${size}.current`)) ?? 0n, failcnt: parseFlatKeyed(read(`hugetlb.${size}.events`)).get('max') ?? 0n }, ['failcnt']);
  }
  return {
    cpu: {
      usage: omitZero({ total: us('usage_usec') ?? 0n, kernel: us('system_usec') ?? 0n, user: us('user_usec') ?? 0n }, ['kernel', 'user']),
      throttling: omitZero({ periods: cpu.get('nr_periods') ?? 0n, throttledPeriods: cpu.get('nr_throttled') ?? 0n, throttledTime: us('throttled_usec') ?? 0n }),
    },
    cpuset: Object.fromEntries(CPUSET_FIELDS.map((f) => [f, 0n])) as RuncStats['cpuset'],
    memory: memoryStats(read),
    pids: pidsStats(read, processCount),
    blkio: parseIoStat(read('io.stat')),
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

/**
 * memory.stat as `raw` (its "file" as `cache`), memory.current/max as `usage`; `swap` is memory plus
 * swap, as cgroup v1 counted it (runc adds memory.current and memory.max to the swap files' values).
 * Without memory.stat (no memory controller) everything reads 0, as in runc.
 */
function memoryStats(read: FileReader): RuncStats['memory'] {
  const zero = (): MemoryEntry => ({ limit: 0n, failcnt: 0n });
  const empty = { usage: zero(), swap: zero(), kernel: zero(), kernelTCP: zero() };
  const stat = read('memory.stat');
  if (stat === null) return empty;
  const raw = parseFlatKeyed(stat);
  const entry = (prefix: string): MemoryEntry | null => {
    const usage = parseSingle(read(`${prefix}.current`));
    if (usage === null) return null;
    return omitZero({ limit: parseSingle(read(`${prefix}.max`)) ?? 0n, usage, failcnt: 0n }, ['limit', 'failcnt']);
  };
  const usage = entry('memory') ?? zero();
  const swapOnly = entry('memory.swap');
  // Go's uint64 arithmetic: a sum past 2^64 − 1 wraps (runc does not add to an unlimited swap).
  const add = (a: bigint, b: bigint) => (a + b) & U64_MAX;
  const swap = swapOnly === null ? zero() : omitZero({ limit: swapOnly.limit === U64_MAX ? U64_MAX : add(swapOnly.limit, usage.limit), usage: add(swapOnly.usage ?? 0n, usage.usage ?? 0n), failcnt: 0n }, ['limit', 'failcnt']);
  const sorted = Object.fromEntries([...raw.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { ...omitZero({ cache: raw.get('file') ?? 0n }), usage, swap, kernel: zero(), kernelTCP: zero(), ...(raw.size > 0 ? { raw: sorted } : {}) };
}

/** pids.current and pids.max ("max" is no limit: 0); without the controller, the processes counted. */
function pidsStats(read: FileReader, processCount: () => number): RuncStats['pids'] {
  const current = parseSingle(read('pids.current'));
  if (current === null) return omitZero({ current: BigInt(processCount()) });
  const max = parseSingle(read('pids.max'));
  return omitZero({ current, limit: max === null || max === U64_MAX ? 0n : max });
}

/** Go's omitempty: drops zero numbers and empty arrays, except the fields named in `keep`. */
function omitZero<T extends object>(o: T, keep: readonly string[] = []): T {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => keep.includes(k) || !(v === 0n || (Array.isArray(v) && v.length === 0)))) as T;
}

/** JSON as Go's encoder writes it, with bigints as exact integers. */
export function goJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `\u0000${v}\u0000` : v)).replace(/"\\u0000(\d+)\\u0000"/g, '$1');
}
