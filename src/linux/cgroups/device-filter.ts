// The device cgroup rules of a config (linux.resources.devices) as cgroup v2 wants them: an eBPF
// program. Pure: the rules are first reduced the way cgroup v1's devices.allow/deny would (the kernel's
// semantics, which runc emulates too), then compiled to BPF instructions; native code only loads them.
import type { Config } from '../../spec/schema.js';
import { DEFAULT_DEVICES } from '../devices.js';

/** One rule after defaults are filled in: type 'a' is any, major/minor -1 any; access ⊆ "rwm". */
export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'b' | 'c';
  major: number;
  minor: number;
  access: string;
}

/** An exception to the default, as cgroup v1 keeps it. */
export interface DeviceException {
  type: 'a' | 'b' | 'c';
  major: number;
  minor: number;
  access: string;
}

/** The reduced rule set: what happens by default, and the devices that are the exception. */
export interface DeviceFilterState {
  defaultAllow: boolean;
  exceptions: DeviceException[];
}

const ANY = -1;

/**
 * The rules runc applies for a config: its own rules, then allow rules for every device it creates
 * (the defaults, /dev/console, /dev/pts/*, /dev/ptmx, and linux.devices), and mknod of any device
 * (a node alone gives no access: reading or writing it is checked again).
 */
export function deviceRules(config: Config): DeviceRule[] {
  const rules: DeviceRule[] = (config.linux?.resources?.devices ?? []).map((d) => ({
    allow: d.allow,
    type: d.type ?? 'a',
    major: d.major ?? ANY,
    minor: d.minor ?? ANY,
    access: d.access ?? 'rwm',
  }));
  const allow = (type: 'b' | 'c', major: number, minor: number, access = 'rwm'): DeviceRule => ({ allow: true, type, major, minor, access });
  rules.push(allow('c', ANY, ANY, 'm'), allow('b', ANY, ANY, 'm'));
  for (const d of DEFAULT_DEVICES) rules.push(allow('c', d.major, d.minor));
  rules.push(allow('c', 5, 1), allow('c', 136, ANY), allow('c', 5, 2));
  for (const d of config.linux?.devices ?? []) {
    if (d.type === 'b') rules.push(allow('b', d.major ?? ANY, d.minor ?? ANY));
    else if (d.type === 'c' || d.type === 'u') rules.push(allow('c', d.major ?? ANY, d.minor ?? ANY));
  }
  return rules;
}

const normAccess = (a: string): string => ['r', 'w', 'm'].filter((c) => a.includes(c)).join('');

/**
 * Applies the rules in order as cgroup v1 does: a rule of type "a" on any major and minor resets the
 * default (deny or allow everything) and forgets the exceptions; a rule that goes against the default
 * adds an exception; one that agrees with it takes its access away from the exception of exactly that
 * device (so allowing 1:3 after denying all and then denying 1:3 "w" leaves 1:3 "rm").
 */
export function reduceDeviceRules(rules: DeviceRule[]): DeviceFilterState {
  let defaultAllow = false;
  let exceptions: DeviceException[] = [];
  for (const r of rules) {
    const access = normAccess(r.access);
    if (r.type === 'a' && r.major === ANY && r.minor === ANY) {
      defaultAllow = r.allow;
      exceptions = [];
      continue;
    }
    if (access === '') continue;
    const same = exceptions.find((e) => e.type === r.type && e.major === r.major && e.minor === r.minor);
    if (r.allow !== defaultAllow) {
      if (same !== undefined) same.access = normAccess(same.access + access);
      else exceptions.push({ type: r.type, major: r.major, minor: r.minor, access });
    } else if (same !== undefined) {
      same.access = [...same.access].filter((c) => !access.includes(c)).join('');
      if (same.access === '') exceptions = exceptions.filter((e) => e !== same);
    }
  }
  return { defaultAllow, exceptions };
}

// bpf_cgroup_dev_ctx: u32 access_type ((access << 16) | type), u32 major, u32 minor.
const DEV_TYPE = { b: 1, c: 2 } as const; // BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
const ACC = { m: 1, r: 2, w: 4 } as const; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

// The opcodes used (eBPF: class | op | source).
const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const JMP_JNE_K = 0x55; // if dst != imm goto pc + 1 + off
const JMP_JNE_X = 0x5d;
const EXIT = 0x95;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/**
 * The BPF program for a reduced rule set: r2 = type, r3 = access, r4 = major, r5 = minor; each
 * exception is a block that jumps to the next one on the first field that does not match and otherwise
 * returns the opposite of the default; the default comes last.
 */
export function compileDeviceFilter(state: DeviceFilterState): Uint8Array {
  const prog: Insn[] = [
    insn(LDX_MEM_W, 2, 1, 0, 0),
    insn(ALU64_AND_K, 2, 0, 0, 0xffff),
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU64_RSH_K, 3, 0, 0, 16),
    insn(LDX_MEM_W, 4, 1, 4, 0),
    insn(LDX_MEM_W, 5, 1, 8, 0),
  ];
  for (const e of state.exceptions) {
    const checks: Insn[] = [];
    if (e.type !== 'a') checks.push(insn(JMP_JNE_K, 2, 0, 0, DEV_TYPE[e.type]));
    const mask = [...e.access].reduce((m, c) => m | ACC[c as keyof typeof ACC], 0);
    if (mask !== 7) {
      // the access asked for must be within the rule's: (r3 & mask) == r3
      checks.push(insn(ALU64_MOV_X, 1, 3, 0, 0), insn(ALU64_AND_K, 1, 0, 0, mask), insn(JMP_JNE_X, 1, 3, 0, 0));
    }
    if (e.major !== ANY) checks.push(insn(JMP_JNE_K, 4, 0, 0, e.major));
    if (e.minor !== ANY) checks.push(insn(JMP_JNE_K, 5, 0, 0, e.minor));
    const block = [...checks, insn(ALU64_MOV_K, 0, 0, 0, state.defaultAllow ? 0 : 1), insn(EXIT, 0, 0, 0, 0)];
    // Every jump of the block goes to its end (the next block).
    block.forEach((ins, i) => {
      if (ins.code === JMP_JNE_K || ins.code === JMP_JNE_X) ins.off = block.length - i - 1;
    });
    prog.push(...block);
  }
  prog.push(insn(ALU64_MOV_K, 0, 0, 0, state.defaultAllow ? 1 : 0), insn(EXIT, 0, 0, 0, 0));
  return encodeInsns(prog);
}

function encodeInsns(prog: Insn[]): Uint8Array {
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    buf.writeUInt8(ins.code, i * 8);
    buf.writeUInt8((ins.src << 4) | ins.dst, i * 8 + 1);
    buf.writeInt16LE(ins.off, i * 8 + 2);
    buf.writeInt32LE(ins.imm, i * 8 + 4);
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** The filter of a config, or null when it would allow everything (nothing to attach). */
export function deviceFilterFor(config: Config): Uint8Array | null {
  const state = reduceDeviceRules(deviceRules(config));
  if (state.defaultAllow && state.exceptions.length === 0) return null;
  return compileDeviceFilter(state);
}
