// Encodes a SpawnRequest into the flat binary plan helpers/ interprets (layout: helpers/plan.h), and
// decodes it back (tests, debugging). Pure: no koffi here. The C side checks every offset again.

import { TsruncError } from '../errors.js';
import type { Op, SpawnRequest } from './plan.js';

export const PLAN_MAGIC = 0x50525354; // "TSRP"
export const PLAN_VERSION = 1;
export const HEADER_SLOTS = 16;
export const JOIN_SLOTS = 2;
export const OP_SLOTS = 12;
const NULL_FLAGS = (1n << 64n) - 1n;
/** OP_MOUNT slot 5, beside the create bit: copy the covered directory into the new tmpfs (TSR_MOUNT_COPYUP). */
const MOUNT_COPYUP = 2n;
/** Header slot numbers: enum tsr_header_slot in helpers/plan.h. */
const H = { magic: 0, length: 1, newNs: 2, preserve: 3, nJoin: 4, nOps: 5, startPath: 6, stdin: 7, flags: 10, timens: 11 } as const;
const FLAG_CTTY = 1n;

/** Op kind numbers: enum tsr_kind in helpers/plan.h. Never renumber, only append. */
export const OP_KINDS = {
  'prepare-root': 1,
  mount: 2,
  device: 3,
  symlink: 4,
  'pivot-root': 5,
  chroot: 6,
  'root-propagation': 7,
  mask: 8,
  readonly: 9,
  'readonly-root': 10,
  sethostname: 11,
  setdomainname: 12,
  'loopback-up': 13,
  'oom-score-adj': 14,
  rlimit: 15,
  'cap-bounding': 16,
  'keep-caps': 17,
  setgroups: 18,
  setresgid: 19,
  setresuid: 20,
  capset: 21,
  ambient: 22,
  'no-new-privs': 23,
  umask: 24,
  chdir: 25,
  sync: 26,
  'resolve-exec': 27,
  'wait-start': 28,
  exec: 29,
  mkdir: 30,
  seccomp: 31,
  'hook-point': 32,
  'write-file': 50,
  personality: 51,
  scheduler: 52,
  ioprio: 53,
  'idmap-mount': 40,
  console: 33,
} as const satisfies Record<Op['op'], number>;

const KIND_NAMES = new Map<number, Op['op']>(Object.entries(OP_KINDS).map(([k, v]) => [v, k as Op['op']]));

function bad(message: string): TsruncError {
  return new TsruncError('invalid-argument', `plan: ${message}`);
}

function u64(v: number | bigint, what: string): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : NaN;
  if (typeof b !== 'bigint' || b < -(1n << 63n) || b >= 1n << 64n) throw bad(`${what}: not a 64-bit integer: ${v}`);
  return BigInt.asUintN(64, b);
}

/** Appends NUL-terminated strings and arrays after the tables; hands back the slots that point at them. */
class Heap {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  constructor(private readonly base: number) {}

  private put(bytes: Uint8Array): number {
    const off = this.base + this.size;
    const padded = (bytes.length + 7) & ~7;
    const chunk = new Uint8Array(padded);
    chunk.set(bytes);
    this.chunks.push(chunk);
    this.size += padded;
    if (off + padded > 0xffff_ffff) throw bad('too large');
    return off;
  }

  str(s: string, what: string): bigint {
    if (s.includes('\0')) throw bad(`${what}: contains a NUL byte`);
    const bytes = new TextEncoder().encode(s);
    const withNul = new Uint8Array(bytes.length + 1);
    withNul.set(bytes);
    return (BigInt(bytes.length) << 32n) | BigInt(this.put(withNul));
  }

  optStr(s: string | null, what: string): bigint {
    return s === null ? 0n : this.str(s, what);
  }

  strv(list: string[], what: string): bigint {
    const slots = list.map((s, i) => this.str(s, `${what}[${i}]`));
    const bytes = new Uint8Array(Math.max(slots.length * 8, 8));
    const view = new DataView(bytes.buffer);
    slots.forEach((s, i) => view.setBigUint64(i * 8, s, true));
    return (BigInt(slots.length) << 32n) | BigInt(this.put(bytes));
  }

  /** Raw bytes; the slot counts `unit`-byte elements (8 for a BPF program). */
  blob(bytes: Uint8Array, unit: number, what: string): bigint {
    if (bytes.length === 0 || bytes.length % unit !== 0) throw bad(`${what}: ${bytes.length} bytes is not a whole number of ${unit}-byte elements`);
    return (BigInt(bytes.length / unit) << 32n) | BigInt(this.put(bytes));
  }

  u32v(list: number[], what: string): bigint {
    const bytes = new Uint8Array(Math.max(list.length * 4, 8));
    const view = new DataView(bytes.buffer);
    list.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw bad(`${what}[${i}]: not a u32: ${n}`);
      view.setUint32(i * 4, n, true);
    });
    return (BigInt(list.length) << 32n) | BigInt(this.put(bytes));
  }

  bytes(): Uint8Array[] {
    return this.chunks;
  }
}

/** The argument slots (1..11) of one op. */
function opSlots(op: Op, h: Heap, at: string): bigint[] {
  const n = (v: number | bigint, f: string) => u64(v, `${at}.${f}`);
  switch (op.op) {
    case 'prepare-root':
      return [h.str(op.rootfs, `${at}.rootfs`), n(op.propagation, 'propagation')];
    case 'mount':
      return [
        h.str(op.source, `${at}.source`),
        h.str(op.target, `${at}.target`),
        h.str(op.fstype, `${at}.fstype`),
        h.str(op.data, `${at}.data`),
        (op.create === 'file' ? 1n : 0n) | (op.copyUp === true ? MOUNT_COPYUP : 0n),
        n(op.flags, 'flags'),
        op.remountFlags === null ? NULL_FLAGS : n(op.remountFlags, 'remountFlags'),
        n(op.propagation, 'propagation'),
        n(op.attrSet, 'attrSet'),
        n(op.attrClr, 'attrClr'),
        h.optStr(op.fallbackBind, `${at}.fallbackBind`),
      ];
    case 'device':
      return [
        h.str(op.target, `${at}.target`),
        op.how === 'mknod' ? 1n : 0n,
        h.str(op.source, `${at}.source`),
        n(op.mode, 'mode'),
        n(op.major, 'major'),
        n(op.minor, 'minor'),
        n(op.uid, 'uid'),
        n(op.gid, 'gid'),
      ];
    case 'symlink':
      return [h.str(op.target, `${at}.target`), h.str(op.linkTo, `${at}.linkTo`)];
    case 'root-propagation':
      return [n(op.propagation, 'propagation')];
    case 'mask':
    case 'readonly':
    case 'chdir':
      return [h.str(op.path, `${at}.path`)];
    case 'mkdir':
      return [h.str(op.path, `${at}.path`), n(op.mode, 'mode')];
    case 'idmap-mount':
      return [h.str(op.source, `${at}.source`), h.str(op.target, `${at}.target`), op.create === 'file' ? 1n : 0n, op.recursive ? 1n : 0n];
    case 'sethostname':
    case 'setdomainname':
      return [h.str(op.name, `${at}.name`)];
    case 'oom-score-adj':
      return [n(op.value, 'value')];
    case 'rlimit':
      return [n(op.resource, 'resource'), n(op.soft, 'soft'), n(op.hard, 'hard')];
    case 'cap-bounding':
      return [n(op.keep, 'keep')];
    case 'keep-caps':
      return [op.on ? 1n : 0n];
    case 'setgroups':
      return [h.u32v(op.gids, `${at}.gids`)];
    case 'setresgid':
      return [n(op.gid, 'gid')];
    case 'setresuid':
      return [n(op.uid, 'uid')];
    case 'capset':
      return [n(op.effective, 'effective'), n(op.permitted, 'permitted'), n(op.inheritable, 'inheritable')];
    case 'ambient':
      return [n(op.raise, 'raise')];
    case 'umask':
      return [n(op.mask, 'mask')];
    case 'sync':
    case 'hook-point':
      return [n(op.tag, 'tag')];
    case 'console':
      return [n(op.rows, 'rows'), n(op.cols, 'cols'), op.mountConsole ? 1n : 0n, op.uid === null ? (1n << 64n) - 1n : n(op.uid, 'uid')];
    case 'resolve-exec':
      return [h.str(op.file, `${at}.file`), h.str(op.searchPath, `${at}.searchPath`)];
    case 'exec':
      return [h.strv(op.argv, `${at}.argv`), h.strv(op.envp, `${at}.envp`)];
    case 'write-file':
      return [h.str(op.path, `${at}.path`), h.str(op.data, `${at}.data`)];
    case 'personality':
      return [n(op.persona, 'persona')];
    case 'scheduler':
      return [n(op.policy, 'policy'), n(op.flags, 'flags'), n(op.nice, 'nice'), n(op.priority, 'priority'), n(op.runtime, 'runtime'), n(op.deadline, 'deadline'), n(op.period, 'period')];
    case 'ioprio':
      return [n(op.value, 'value')];
    case 'seccomp':
      return [h.blob(op.program, 8, `${at}.program`), n(op.flags, 'flags'), op.when === 'defer' ? 1n : 0n];
    case 'pivot-root':
    case 'chroot':
    case 'readonly-root':
    case 'loopback-up':
    case 'no-new-privs':
    case 'wait-start':
      return [];
  }
}

/** Encodes `req` into the buffer tsrunc_spawn takes. Throws TsruncError('invalid-argument') on values
 * that cannot be encoded (NUL in a string, a non-integer number…). */
export function encodePlan(req: SpawnRequest): Uint8Array {
  const nJoin = req.joinNamespaces.length;
  const tablesEnd = (HEADER_SLOTS + nJoin * JOIN_SLOTS + req.ops.length * OP_SLOTS) * 8;
  const heap = new Heap(tablesEnd);
  const tables = new BigUint64Array(tablesEnd / 8);
  const stdio = req.stdio ?? [-1, -1, -1];

  tables[H.newNs] = u64(req.newNamespaces, 'newNamespaces');
  tables[H.preserve] = u64(req.preserveFds, 'preserveFds');
  tables[H.nJoin] = BigInt(nJoin);
  tables[H.nOps] = BigInt(req.ops.length);
  tables[H.startPath] = req.startSocketPath === '' ? 0n : heap.str(req.startSocketPath, 'startSocketPath');
  stdio.forEach((fd, k) => (tables[H.stdin + k] = u64(fd, `stdio[${k}]`)));
  tables[H.flags] = req.setCtty ? FLAG_CTTY : 0n;
  tables[H.timens] = req.timeOffsets ? heap.str(req.timeOffsets, 'timeOffsets') : 0n;
  req.joinNamespaces.forEach((j, i) => {
    tables[HEADER_SLOTS + i * JOIN_SLOTS] = u64(j.flag, `joinNamespaces[${i}].flag`);
    tables[HEADER_SLOTS + i * JOIN_SLOTS + 1] = u64(j.fd, `joinNamespaces[${i}].fd`);
  });
  req.ops.forEach((op, i) => {
    const at = HEADER_SLOTS + nJoin * JOIN_SLOTS + i * OP_SLOTS;
    tables[at] = BigInt(OP_KINDS[op.op]);
    opSlots(op, heap, `ops[${i}]`).forEach((v, s) => (tables[at + 1 + s] = v));
  });

  const chunks = heap.bytes();
  const total = tablesEnd + chunks.reduce((a, c) => a + c.length, 0);
  tables[H.magic] = (BigInt(PLAN_VERSION) << 32n) | BigInt(PLAN_MAGIC);
  tables[H.length] = BigInt(total);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  tables.forEach((v, i) => view.setBigUint64(i * 8, v, true)); // little-endian whatever the host
  let off = tablesEnd;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}


/** A decoded op: the op without its origin (origins stay on the TypeScript side). */
export type DecodedOp = { [K in Op['op']]: Omit<Extract<Op, { op: K }>, 'origin'> }[Op['op']];

export interface DecodedPlan {
  newNamespaces: number;
  joinNamespaces: { flag: number; fd: number }[];
  preserveFds: number;
  startSocketPath: string;
  stdio: [number, number, number];
  setCtty: boolean;
  ops: DecodedOp[];
}

/** Decodes a plan, checking every offset like helpers/plan.c does; throws TsruncError on a bad one. */
export function decodePlan(buf: Uint8Array): DecodedPlan {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = buf.byteLength;
  if (len < HEADER_SLOTS * 8 || len % 8) throw bad('truncated header');
  const slot = (i: number): bigint => {
    if (i * 8 + 8 > len) throw bad(`slot ${i} out of bounds`);
    return view.getBigUint64(i * 8, true);
  };
  const num = (v: bigint): number => Number(BigInt.asIntN(64, v));
  const str = (v: bigint): string => {
    const off = Number(v & 0xffff_ffffn);
    const n = Number(v >> 32n);
    if (off < HEADER_SLOTS * 8 || off + n + 1 > len || buf[off + n] !== 0) throw bad(`string at ${off} out of bounds`);
    const bytes = buf.subarray(off, off + n);
    if (bytes.includes(0)) throw bad(`string at ${off} contains NUL`);
    return new TextDecoder().decode(bytes);
  };
  const vec = (v: bigint, size: number): [number, number] => {
    const off = Number(v & 0xffff_ffffn);
    const n = Number(v >> 32n);
    if (off < HEADER_SLOTS * 8 || off % size || off + n * size > len) throw bad(`array at ${off} out of bounds`);
    return [off, n];
  };
  const strv = (v: bigint): string[] => {
    const [off, n] = vec(v, 8);
    return Array.from({ length: n }, (_, k) => str(slot(off / 8 + k)));
  };

  if (slot(H.magic) !== ((BigInt(PLAN_VERSION) << 32n) | BigInt(PLAN_MAGIC))) throw bad('bad magic');
  if (slot(H.length) !== BigInt(len)) throw bad('length mismatch');
  const nJoin = Number(slot(H.nJoin));
  const nOps = Number(slot(H.nOps));
  if ((HEADER_SLOTS + nJoin * JOIN_SLOTS + nOps * OP_SLOTS) * 8 > len) throw bad('tables out of bounds');
  const ops: DecodedOp[] = [];
  for (let i = 0; i < nOps; i++) {
    const at = HEADER_SLOTS + nJoin * JOIN_SLOTS + i * OP_SLOTS;
    const s = (k: number) => slot(at + k);
    const kind = KIND_NAMES.get(Number(s(0)));
    if (!kind) throw bad(`ops[${i}]: unknown kind ${s(0)}`);
    const bytes = (v: bigint, unit: number): Uint8Array => {
      const [off, n] = vec(v, unit);
      return buf.slice(off, off + n * unit);
    };
    ops.push(decodeOp(kind, s, { num, str, strv, u32v: (v) => u32v(view, vec(v, 4)), bytes }));
  }
  const startPath = slot(H.startPath);
  return {
    newNamespaces: num(slot(H.newNs)),
    joinNamespaces: Array.from({ length: nJoin }, (_, i) => ({
      flag: num(slot(HEADER_SLOTS + i * JOIN_SLOTS)),
      fd: num(slot(HEADER_SLOTS + i * JOIN_SLOTS + 1)),
    })),
    preserveFds: num(slot(H.preserve)),
    startSocketPath: startPath === 0n ? '' : str(startPath),
    stdio: [num(slot(H.stdin)), num(slot(H.stdin + 1)), num(slot(H.stdin + 2))],
    setCtty: slot(H.flags) === FLAG_CTTY,
    ops,
  };
}

function u32v(view: DataView, [off, n]: [number, number]): number[] {
  return Array.from({ length: n }, (_, k) => view.getUint32(off + k * 4, true));
}

interface Readers {
  num(v: bigint): number;
  str(v: bigint): string;
  strv(v: bigint): string[];
  u32v(v: bigint): number[];
  bytes(v: bigint, unit: number): Uint8Array;
}

function decodeOp(kind: Op['op'], s: (k: number) => bigint, r: Readers): DecodedOp {
  const { num, str } = r;
  switch (kind) {
    case 'prepare-root':
      return { op: kind, rootfs: str(s(1)), propagation: num(s(2)) };
    case 'mount':
      return {
        op: kind,
        source: str(s(1)),
        target: str(s(2)),
        fstype: str(s(3)),
        data: str(s(4)),
        create: (s(5) & 1n) === 1n ? 'file' : 'dir',
        ...((s(5) & MOUNT_COPYUP) !== 0n ? { copyUp: true } : {}),
        flags: num(s(6)),
        remountFlags: s(7) === NULL_FLAGS ? null : num(s(7)),
        propagation: num(s(8)),
        attrSet: num(s(9)),
        attrClr: num(s(10)),
        fallbackBind: s(11) === 0n ? null : str(s(11)),
      };
    case 'device':
      return {
        op: kind,
        target: str(s(1)),
        how: s(2) === 1n ? 'mknod' : 'bind',
        source: str(s(3)),
        mode: num(s(4)),
        major: num(s(5)),
        minor: num(s(6)),
        uid: num(s(7)),
        gid: num(s(8)),
      };
    case 'symlink':
      return { op: kind, target: str(s(1)), linkTo: str(s(2)) };
    case 'root-propagation':
      return { op: kind, propagation: num(s(1)) };
    case 'mask':
    case 'readonly':
    case 'chdir':
      return { op: kind, path: str(s(1)) };
    case 'mkdir':
      return { op: kind, path: str(s(1)), mode: num(s(2)) };
    case 'idmap-mount':
      return { op: kind, source: str(s(1)), target: str(s(2)), create: s(3) === 1n ? 'file' : 'dir', recursive: s(4) === 1n };
    case 'sethostname':
    case 'setdomainname':
      return { op: kind, name: str(s(1)) };
    case 'oom-score-adj':
      return { op: kind, value: num(s(1)) };
    case 'rlimit':
      return { op: kind, resource: num(s(1)), soft: s(2), hard: s(3) };
    case 'cap-bounding':
      return { op: kind, keep: s(1) };
    case 'keep-caps':
      return { op: kind, on: s(1) === 1n };
    case 'setgroups':
      return { op: kind, gids: r.u32v(s(1)) };
    case 'setresgid':
      return { op: kind, gid: num(s(1)) };
    case 'setresuid':
      return { op: kind, uid: num(s(1)) };
    case 'capset':
      return { op: kind, effective: s(1), permitted: s(2), inheritable: s(3) };
    case 'ambient':
      return { op: kind, raise: s(1) };
    case 'umask':
      return { op: kind, mask: num(s(1)) };
    case 'sync':
    case 'hook-point':
      return { op: kind, tag: num(s(1)) };
    case 'console':
      return { op: kind, rows: num(s(1)), cols: num(s(2)), mountConsole: s(3) === 1n, uid: s(4) === (1n << 64n) - 1n ? null : num(s(4)) };
    case 'resolve-exec':
      return { op: kind, file: str(s(1)), searchPath: str(s(2)) };
    case 'exec':
      return { op: kind, argv: r.strv(s(1)), envp: r.strv(s(2)) };
    case 'write-file':
      return { op: kind, path: str(s(1)), data: str(s(2)) };
    case 'personality':
      return { op: kind, persona: num(s(1)) };
    case 'scheduler':
      return { op: kind, policy: num(s(1)), flags: s(2), nice: num(s(3)), priority: num(s(4)), runtime: s(5), deadline: s(6), period: s(7) };
    case 'ioprio':
      return { op: kind, value: num(s(1)) };
    case 'seccomp':
      return { op: kind, program: r.bytes(s(1), 8), flags: num(s(2)), when: s(3) === 1n ? 'defer' : 'now' };
    case 'pivot-root':
    case 'chroot':
    case 'readonly-root':
    case 'loopback-up':
    case 'no-new-privs':
    case 'wait-start':
      return { op: kind };
  }
}
