// linux.resources in the two languages the drivers speak: cgroup v2 files (cgroupfs, and what systemd
// has no property for) and systemd unit properties. Pure: plain data in, plain data out. The
// conversions (shares → weight, swap, quota per second) are runc's, so a config means the same thing.
import type { LinuxResources } from '../../spec/schema.js';

/** One value to write into a cgroup file, with the config field it comes from. */
export interface CgroupFileWrite {
  file: string;
  value: string;
  pointer: string;
}

/** One systemd unit property: name, D-Bus signature and value. */
export interface UnitProperty {
  name: string;
  signature: string;
  value: unknown;
}

type Int = number | bigint;
const U64_MAX = (1n << 64n) - 1n;
const big = (v: Int): bigint => BigInt(v);
const has = (v: unknown): boolean => v !== undefined && v !== null;

/**
 * The limits a config asks for, as "memory.limit", "pids.limit", "unified.memory.high"… (empty when none).
 * Device rules are not counted: they only restrict, and the container gets the devices of its config.
 */
export function requestedLimits(r: LinuxResources | undefined): string[] {
  if (r === undefined) return [];
  const out: string[] = [];
  const group = (name: string, o: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(o ?? {})) {
      if (has(v) && !(Array.isArray(v) && v.length === 0)) out.push(`${name}.${k}`);
    }
  };
  group('memory', r.memory);
  group('cpu', r.cpu);
  group('pids', r.pids);
  group('blockIO', r.blockIO);
  group('network', r.network);
  if ((r.hugepageLimits ?? []).length > 0) out.push('hugepageLimits');
  if (Object.keys(r.rdma ?? {}).length > 0) out.push('rdma');
  for (const k of Object.keys(r.unified ?? {})) out.push(`unified.${k}`);
  return out;
}

/** runc's cgroup v1 shares → v2 weight: [2, 262144] → [1, 10000]. */
export function sharesToWeight(shares: Int): bigint {
  const s = big(shares);
  if (s === 0n) return 0n;
  return 1n + ((s - 2n) * 9999n) / 262142n;
}

/** runc's blkio weight [10, 1000] → io.weight [1, 10000]. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI's memory.swap is memory+swap; cgroup v2's memory.swap.max is swap alone. null: leave unset.
 * Throws a message on the combinations runc refuses.
 */
export function swapToV2(swap: Int | undefined, limit: Int | undefined): bigint | 'max' | null {
  if (swap === undefined) return null;
  const s = big(swap);
  if (s === 0n) return null;
  if (s === -1n) return 'max';
  const m = limit === undefined ? 0n : big(limit);
  if (m === -1n) return 'max';
  if (m === 0n) throw new Error('a swap limit needs a memory limit');
  if (s < m) throw new Error('memory+swap limit must be >= the memory limit');
  return s - m;
}

const maxOr = (v: Int): string => (big(v) < 0n ? 'max' : String(v));

/** The cgroup v2 files for `r`, and the fields cgroup v2 has no file for (v1-only settings). */
export function toCgroupFiles(r: LinuxResources | undefined): { writes: CgroupFileWrite[]; ignored: string[] } {
  const writes: CgroupFileWrite[] = [];
  const ignored: string[] = [];
  if (r === undefined) return { writes, ignored };
  const w = (file: string, value: string, pointer: string) => writes.push({ file, value, pointer });
  const P = '/linux/resources';

  const cpu = r.cpu;
  if (cpu !== undefined) {
    if (has(cpu.shares) && big(cpu.shares!) !== 0n) w('cpu.weight', String(sharesToWeight(cpu.shares!)), `${P}/cpu/shares`);
    if (has(cpu.quota) || has(cpu.period)) {
      const quota = has(cpu.quota) ? big(cpu.quota!) : 0n;
      const period = has(cpu.period) ? big(cpu.period!) : 0n;
      if (quota !== 0n || period !== 0n) {
        const q = quota > 0n ? String(quota) : 'max';
        w('cpu.max', period !== 0n ? `${q} ${period}` : quota !== 0n ? `${q} 100000` : q, `${P}/cpu/${has(cpu.quota) ? 'quota' : 'period'}`);
      }
    }
    if (has(cpu.burst)) w('cpu.max.burst', String(cpu.burst), `${P}/cpu/burst`);
    if (has(cpu.idle)) w('cpu.idle', String(cpu.idle), `${P}/cpu/idle`);
    if (cpu.cpus !== undefined && cpu.cpus !== '') w('cpuset.cpus', cpu.cpus, `${P}/cpu/cpus`);
    if (cpu.mems !== undefined && cpu.mems !== '') w('cpuset.mems', cpu.mems, `${P}/cpu/mems`);
    if (has(cpu.realtimeRuntime)) ignored.push('cpu.realtimeRuntime');
    if (has(cpu.realtimePeriod)) ignored.push('cpu.realtimePeriod');
  }

  const mem = r.memory;
  if (mem !== undefined) {
    // swap first: lowering memory.max below a swap setting is fine, the other way round is not checked.
    let swap: bigint | 'max' | null;
    try {
      swap = swapToV2(mem.swap, mem.limit);
    } catch (e) {
      throw new Error(`${P}/memory/swap: ${(e as Error).message}`);
    }
    if (swap !== null) w('memory.swap.max', String(swap), `${P}/memory/swap`);
    if (has(mem.limit) && big(mem.limit!) !== 0n) w('memory.max', maxOr(mem.limit!), `${P}/memory/limit`);
    if (has(mem.reservation) && big(mem.reservation!) !== 0n) w('memory.low', maxOr(mem.reservation!), `${P}/memory/reservation`);
    for (const k of ['kernel', 'kernelTCP', 'swappiness', 'disableOOMKiller', 'useHierarchy'] as const) {
      if (has(mem[k])) ignored.push(`memory.${k}`);
    }
  }

  if (r.pids !== undefined && has(r.pids.limit)) {
    const l = big(r.pids.limit);
    if (l !== 0n) w('pids.max', l < 0n ? 'max' : String(l), `${P}/pids/limit`);
  }

  const bio = r.blockIO;
  if (bio !== undefined) {
    if (has(bio.weight) && bio.weight !== 0) w('io.weight', `default ${blkioWeightToIoWeight(bio.weight!)}`, `${P}/blockIO/weight`);
    if (has(bio.leafWeight)) ignored.push('blockIO.leafWeight');
    (bio.weightDevice ?? []).forEach((d, i) => {
      if (has(d.weight)) w('io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight!)}`, `${P}/blockIO/weightDevice/${i}`);
    });
    const throttle = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ] as const;
    for (const [field, key] of throttle) {
      (bio[field] ?? []).forEach((d, i) => {
        const rate = big(d.rate);
        w('io.max', `${d.major}:${d.minor} ${key}=${rate === 0n ? 'max' : String(rate)}`, `${P}/blockIO/${field}/${i}`);
      });
    }
  }

  (r.hugepageLimits ?? []).forEach((h, i) => w(`hugetlb.${h.pageSize}.max`, String(h.limit), `${P}/hugepageLimits/${i}`));

  for (const [dev, v] of Object.entries(r.rdma ?? {})) {
    const parts = [dev];
    if (has(v.hcaHandles)) parts.push(`hca_handle=${v.hcaHandles}`);
    if (has(v.hcaObjects)) parts.push(`hca_object=${v.hcaObjects}`);
    w('rdma.max', parts.join(' '), `${P}/rdma/${dev}`);
  }

  if (r.network !== undefined && (has(r.network.classID) || (r.network.priorities ?? []).length > 0)) ignored.push('network');

  for (const [k, v] of Object.entries(r.unified ?? {})) {
    if (k.includes('/') || k === '' || k.startsWith('.')) throw new Error(`${P}/unified/${k}: not a cgroup file name`);
    w(k, v, `${P}/unified/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
  return { writes, ignored };
}

/** The controller a cgroup file belongs to ("memory.max" → "memory"); null for cgroup.* core files. */
export function controllerOf(file: string): string | null {
  const c = file.split('.')[0] ?? '';
  return c === 'cgroup' || c === '' ? null : c;
}

/** The controllers the writes need, in the order the kernel lists them. */
export function controllersNeeded(writes: CgroupFileWrite[]): string[] {
  const order = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];
  const set = new Set(writes.map((w) => controllerOf(w.file)).filter((c): c is string => c !== null));
  return [...set].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
}

/** "0-2,5" → the byte mask systemd's AllowedCPUs/AllowedMemoryNodes take (bit n of byte n/8). */
export function cpuListToMask(list: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`"${list}" is not a CPU list such as 0-3,5`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to > 8191) throw new Error(`"${list}" is not a CPU list such as 0-3,5`);
    for (let n = from; n <= to; n++) {
      while (bytes.length <= n >> 3) bytes.push(0);
      bytes[n >> 3]! |= 1 << (n & 7);
    }
  }
  return bytes;
}

/**
 * The systemd properties for `r` (what systemd can set itself), and the file writes that remain for
 * the delegated cgroup. Quota per second is rounded up to 10 ms as runc does (systemd's granularity).
 */
export function toUnitProperties(r: LinuxResources | undefined): { properties: UnitProperty[]; rest: CgroupFileWrite[]; ignored: string[] } {
  const { writes, ignored } = toCgroupFiles(r);
  const properties: UnitProperty[] = [];
  const rest: CgroupFileWrite[] = [];
  const t = (name: string, v: bigint | 'max') => properties.push({ name, signature: 't', value: v === 'max' ? U64_MAX : v });
  const cpu = r?.cpu;
  for (const wr of writes) {
    const v = wr.value;
    switch (wr.file) {
      case 'memory.max':
        t('MemoryMax', v === 'max' ? 'max' : BigInt(v));
        break;
      case 'memory.low':
        t('MemoryLow', v === 'max' ? 'max' : BigInt(v));
        break;
      case 'memory.high':
        t('MemoryHigh', v === 'max' ? 'max' : BigInt(v));
        break;
      case 'memory.min':
        t('MemoryMin', v === 'max' ? 'max' : BigInt(v));
        break;
      case 'memory.swap.max':
        t('MemorySwapMax', v === 'max' ? 'max' : BigInt(v));
        break;
      case 'pids.max':
        t('TasksMax', v === 'max' ? 'max' : BigInt(v));
        break;
      case 'cpu.weight':
        t('CPUWeight', BigInt(v));
        break;
      case 'cpu.max': {
        const [q, p] = v.split(' ');
        const period = p === undefined ? 100000n : BigInt(p);
        if (cpu !== undefined && has(cpu.period) && big(cpu.period!) !== 0n) t('CPUQuotaPeriodUSec', period);
        if (q === 'max') {
          t('CPUQuotaPerSecUSec', 'max');
        } else {
          let perSec = (BigInt(q!) * 1000000n) / period;
          if (perSec % 10000n !== 0n) perSec = (perSec / 10000n + 1n) * 10000n;
          t('CPUQuotaPerSecUSec', perSec);
        }
        break;
      }
      case 'cpuset.cpus':
        properties.push({ name: 'AllowedCPUs', signature: 'ay', value: cpuListToMask(v) });
        break;
      case 'cpuset.mems':
        properties.push({ name: 'AllowedMemoryNodes', signature: 'ay', value: cpuListToMask(v) });
        break;
      case 'io.weight':
        if (v.startsWith('default ')) t('IOWeight', BigInt(v.slice(8)));
        else rest.push(wr);
        break;
      default:
        rest.push(wr);
    }
  }
  return { properties, rest, ignored };
}

/**
 * `org.systemd.property.<Name>` annotations as unit properties (runc's rule). Values are GVariant text:
 * true/false, a typed integer ("uint64 1024"), a quoted string, or a bare integer (uint64); a name
 * ending in "Sec" takes seconds and becomes the "USec" property.
 */
export function annotationProperties(annotations: Record<string, string> | undefined): UnitProperty[] {
  const out: UnitProperty[] = [];
  const prefix = 'org.systemd.property.';
  for (const [k, raw] of Object.entries(annotations ?? {})) {
    if (!k.startsWith(prefix)) continue;
    let name = k.slice(prefix.length);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`annotation ${k}: "${name}" is not a systemd property name`);
    const v = raw.trim();
    if (name.endsWith('Sec') && !name.endsWith('USec')) {
      const secs = Number(v.replace(/^(uint64|int64|double)\s+/, ''));
      if (!Number.isFinite(secs) || secs < 0) throw new Error(`annotation ${k}: "${raw}" is not a number of seconds`);
      name = name.slice(0, -3) + 'USec';
      out.push({ name, signature: 't', value: BigInt(Math.round(secs * 1e6)) });
      continue;
    }
    out.push({ name, ...parseGVariant(v, k) });
  }
  return out;
}

const TYPED: Record<string, string> = { byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't', double: 'd' };

function parseGVariant(v: string, key: string): { signature: string; value: unknown } {
  if (v === 'true' || v === 'false') return { signature: 'b', value: v === 'true' };
  const m = /^(\w+)\s+(-?\d+(?:\.\d+)?)$/.exec(v);
  if (m !== null && TYPED[m[1]!] !== undefined) {
    const sig = TYPED[m[1]!]!;
    return { signature: sig, value: sig === 't' || sig === 'x' ? BigInt(m[2]!) : Number(m[2]) };
  }
  if (/^\d+$/.test(v)) return { signature: 't', value: BigInt(v) };
  if (/^'.*'$/.test(v) || /^".*"$/.test(v)) return { signature: 's', value: v.slice(1, -1) };
  throw new Error(`annotation ${key}: "${v}" is not a value tsrunc understands (true, false, "uint64 N", 'text', or a number)`);
}
