// linux.seccomp → a BPF program, compiled in the parent by the host's libseccomp (called through koffi),
// the library runc, crun and youki use. The C child only loads the bytes (helpers/seccomp.c). Nothing
// happens at import time: libseccomp is opened on the first compile, i.e. only for configs with seccomp.
import { createRequire } from 'node:module';
import { closeSync, fstatSync, readSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import type { Config } from '../spec/schema.js';

type Seccomp = NonNullable<NonNullable<Config['linux']>['seccomp']>;
type Action = Seccomp['defaultAction'];

/** What the plan needs: the program and the seccomp(2) flags to load it with. */
export interface CompiledSeccomp {
  /** struct sock_filter[], 8 bytes each. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
  /** Some rule is SCMP_ACT_NOTIFY: the program is loaded with a listener whose fd goes to listenerPath. */
  notify: boolean;
}

// seccomp(2) flags (linux/seccomp.h).
const FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

// libseccomp's action values (seccomp.h).
const ACT_KILL_PROCESS = 0x80000000;
const ACT_KILL_THREAD = 0x00000000;
const ACT_TRAP = 0x00030000;
const ACT_NOTIFY = 0x7fc00000;
const ACT_ERRNO = 0x00050000;
const ACT_TRACE = 0x7ff00000;
const ACT_LOG = 0x7ffc0000;
const ACT_ALLOW = 0x7fff0000;
const EPERM = 1;

// enum scmp_compare and enum scmp_filter_attr (libseccomp 2.5).
const CMP: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};
const ATTR_CTL_NNP = 3;
const ATTR_CTL_LOG = 6;
const ATTR_CTL_SSB = 7;
const ATTR_CTL_OPTIMIZE = 8;
const NR_SCMP_ERROR = -1;
const MFD_CLOEXEC = 1;

/**
 * The libseccomp action of a spec action, as runc maps them: SCMP_ACT_KILL is KILL_THREAD; ERRNO and
 * TRACE return errnoRet, EPERM when it is absent.
 */
export function seccompAction(action: Action, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return ACT_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return ACT_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return ACT_TRAP;
    case 'SCMP_ACT_ERRNO':
      return (ACT_ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (ACT_TRACE | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return ACT_ALLOW;
    case 'SCMP_ACT_LOG':
      return ACT_LOG;
    case 'SCMP_ACT_NOTIFY':
      return ACT_NOTIFY;
  }
}

/** libseccomp's name of an architecture: SCMP_ARCH_X86_64 → "x86_64". */
export function archName(arch: string): string {
  return arch.replace(/^SCMP_ARCH_/, '').toLowerCase();
}

/** The argument conditions of one rule group: runc adds them as one rule (AND) unless an argument index
 * repeats, then one rule per condition (OR), as older runc did. */
export function conditionGroups<T extends { index: number }>(args: readonly T[]): T[][] {
  if (args.length === 0) return [[]];
  const seen = new Set<number>();
  const repeats = args.some((a) => (seen.has(a.index) ? true : (seen.add(a.index), false)));
  return repeats ? args.map((a) => [a]) : [[...args]];
}

interface Lib {
  init(def: number): unknown;
  release(ctx: unknown): void;
  archAdd(ctx: unknown, arch: number): number;
  archRemove(ctx: unknown, arch: number): number;
  archNative(): number;
  archResolve(name: string): number;
  syscallName(arch: number, nr: number): string | null;
  merge(dst: unknown, src: unknown): number;
  syscallResolve(name: string): number;
  ruleAdd(ctx: unknown, action: number, nr: number, count: number, args: unknown): number;
  attrSet(ctx: unknown, attr: number, value: number): number;
  exportBpf(ctx: unknown, fd: number): number;
  memfd(name: string, flags: number): number;
  errno(): number;
  koffi: typeof import('koffi');
  argStruct: unknown;
}

let lib: Lib | undefined;

/** TSRUNC_LIBSECCOMP overrides where libseccomp is looked for (tests, unusual installs). */
function libPaths(): string[] {
  const env = process.env.TSRUNC_LIBSECCOMP;
  return env !== undefined && env !== '' ? [env] : ['libseccomp.so.2'];
}

function loadLib(): Lib {
  if (lib !== undefined) return lib;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  let so: ReturnType<typeof koffi.load> | undefined;
  let cause: unknown;
  for (const p of libPaths()) {
    try {
      so = koffi.load(p);
      break;
    } catch (e) {
      cause = e;
    }
  }
  if (so === undefined) {
    throw new TsruncError('host-not-ready', 'config.json: /linux/seccomp: libseccomp.so.2 is not installed on this host', {
      cause,
      hint: 'install it: apt-get install libseccomp2 (Debian/Ubuntu) or dnf install libseccomp (Fedora)',
    });
  }
  const libc = koffi.load('libc.so.6');
  // struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a, datum_b; }
  const argStruct = koffi.struct('tsrunc_scmp_arg_cmp', { arg: 'uint32', op: 'uint32', datum_a: 'uint64', datum_b: 'uint64' });
  const errnoLoc = libc.func('int *__errno_location(void)');
  lib = {
    init: so.func('void *seccomp_init(uint32_t def_action)'),
    release: so.func('void seccomp_release(void *ctx)'),
    archAdd: so.func('int seccomp_arch_add(void *ctx, uint32_t arch_token)'),
    archRemove: so.func('int seccomp_arch_remove(void *ctx, uint32_t arch_token)'),
    archNative: so.func('uint32_t seccomp_arch_native(void)'),
    archResolve: so.func('uint32_t seccomp_arch_resolve_name(const char *name)'),
    // libseccomp returns a malloc'd copy: koffi's `str` return decodes it (the few bytes leak, once per name).
    syscallName: so.func('const char *seccomp_syscall_resolve_num_arch(uint32_t arch, int num)'),
    merge: so.func('int seccomp_merge(void *dst, void *src)'),
    syscallResolve: so.func('int seccomp_syscall_resolve_name(const char *name)'),
    ruleAdd: so.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, tsrunc_scmp_arg_cmp *arg_array)'),
    attrSet: so.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
    exportBpf: so.func('int seccomp_export_bpf(void *ctx, int fd)'),
    memfd: libc.func('int memfd_create(const char *name, unsigned int flags)'),
    errno: () => koffi.decode(errnoLoc(), 'int') as number,
    koffi,
    argStruct,
  };
  return lib;
}

function libError(pointer: string, what: string, r: number): TsruncError {
  return new TsruncError('invalid-config', `config.json: ${pointer}: ${what}: ${describeErrno(-r)}`);
}

function describeErrno(e: number): string {
  const names: Record<number, string> = { 1: 'EPERM', 13: 'EACCES', 14: 'EFAULT', 17: 'EEXIST', 22: 'EINVAL', 95: 'EOPNOTSUPP' };
  return `${names[e] ?? `errno ${e}`} from libseccomp`;
}

/**
 * runc's "ENOSYS stub": with a profile that denies by default (anything but ALLOW or LOG, and not
 * already ENOSYS), syscalls numbered above the highest one the profile names are newer than the
 * profile, and must fail with ENOSYS so that libc falls back to the older call (clone3 → clone,
 * fchmodat2 → fchmodat ...) instead of failing with EPERM. runc prepends hand-written BPF that tests
 * `nr > highest`; here libseccomp does all the BPF: one ERRNO(ENOSYS) rule per number, from the highest
 * named one + 1 to the end of its block of 512 (x86_64's 64-bit table ends below 512, where x32's
 * numbers start; the kernel answers every higher number with ENOSYS itself when allowed). Only where
 * the profile lists the native architecture (runc too adds the stub only for listed ones).
 */
export function enosysRange(highest: number): { from: number; to: number } {
  return { from: highest + 1, to: highest | 0x1ff };
}

/** Default actions that deny: with them a profile gets the ENOSYS rules (runc: not ALLOW, not LOG, not ERRNO(ENOSYS)). */
export function wantsEnosys(sc: Pick<Seccomp, 'defaultAction' | 'defaultErrnoRet'>): boolean {
  if (sc.defaultAction === 'SCMP_ACT_ALLOW' || sc.defaultAction === 'SCMP_ACT_LOG') return false;
  return !(sc.defaultAction === 'SCMP_ACT_ERRNO' && sc.defaultErrnoRet === ENOSYS);
}

const ENOSYS = 38;

/** The numbers that get ENOSYS: those libseccomp can name (added on every architecture, by name) and
 * those beyond its table (added on the native architecture only: libseccomp translates a number to
 * another architecture through its name). Null when the profile does not want them. */
function enosysNumbers(l: Lib, sc: Seccomp): { named: number[]; raw: number[] } | null {
  if (!wantsEnosys(sc)) return null;
  const native = l.archNative();
  if (!(sc.architectures ?? []).some((a) => l.archResolve(archName(a)) === native)) return null;
  let highest = -1;
  for (const rule of sc.syscalls ?? []) for (const name of rule.names) highest = Math.max(highest, l.syscallResolve(name));
  if (highest < 0) return null;
  const { from, to } = enosysRange(highest);
  const named: number[] = [];
  const raw: number[] = [];
  for (let nr = from; nr <= to; nr++) (l.syscallName(native, nr) !== null ? named : raw).push(nr);
  return { named, raw };
}

/**
 * Compiles linux.seccomp to BPF. Unknown syscall names are skipped (runc does the same: a profile names
 * syscalls newer or older than the host), and so are architectures this libseccomp does not know;
 * both are reported to `warn`. Throws TsruncError naming the field for what libseccomp refuses, and
 * 'host-not-ready' when libseccomp is missing.
 */
export function compileSeccomp(sc: Seccomp, warn: (msg: string) => void = () => {}): CompiledSeccomp {
  const l = loadLib();
  const enosys = enosysNumbers(l, sc);
  const arches = archTokens(l, sc, warn);
  if (enosys === null) {
    const main = buildContext(l, sc, arches, warn, []);
    try {
      return { program: exportBpf(l, main.ctx), flags: main.flags, notify: main.notify };
    } finally {
      l.release(main.ctx);
    }
  }
  // The native architecture with every ENOSYS number, the others with the named ones, then merged into
  // one program (libseccomp refuses a number it cannot name as soon as the filter has a second architecture).
  const native = l.archNative();
  const main = buildContext(l, sc, [], warn, [...enosys.named, ...enosys.raw]);
  try {
    const foreign = arches.filter((a) => a.token !== native);
    if (foreign.length > 0) {
      const other = buildContext(l, sc, foreign, () => {}, enosys.named, native);
      const r = l.merge(main.ctx, other.ctx); // on success `other` belongs to `main`
      if (r < 0) {
        l.release(other.ctx);
        throw libError('/linux/seccomp/architectures', 'merging the filters of the architectures', r);
      }
    }
    return { program: exportBpf(l, main.ctx), flags: main.flags, notify: main.notify };
  } finally {
    l.release(main.ctx);
  }
}

/** The listed architectures this libseccomp knows, with their pointers; the others are warned about. */
function archTokens(l: Lib, sc: Seccomp, warn: (msg: string) => void): { token: number; pointer: string; name: string }[] {
  const out: { token: number; pointer: string; name: string }[] = [];
  (sc.architectures ?? []).forEach((a, i) => {
    const token = l.archResolve(archName(a));
    if (token === 0) warn(`config.json: /linux/seccomp/architectures/${i}: ${a} is unknown to this libseccomp (skipped)`);
    else out.push({ token, pointer: `/linux/seccomp/architectures/${i}`, name: a });
  });
  return out;
}

/**
 * One libseccomp filter with the profile's attributes, flags and rules for `arches` (plus the native
 * one, unless `dropNative` names it), and an ERRNO(ENOSYS) rule for each of `enosys`. The caller
 * releases `ctx`.
 */
function buildContext(
  l: Lib,
  sc: Seccomp,
  arches: readonly { token: number; pointer: string; name: string }[],
  warn: (msg: string) => void,
  enosys: readonly number[],
  dropNative?: number,
): { ctx: unknown; flags: number; notify: boolean } {
  const defaultAct = seccompAction(sc.defaultAction, sc.defaultErrnoRet);
  const ctx = l.init(defaultAct);
  if (ctx === null) throw new TsruncError('invalid-config', `config.json: /linux/seccomp/defaultAction: libseccomp refused ${sc.defaultAction}`);
  try {
    // We load the program ourselves (helpers/seccomp.c); no_new_privs is the plan's business.
    l.attrSet(ctx, ATTR_CTL_NNP, 0);
    for (const a of arches) {
      const r = l.archAdd(ctx, a.token);
      if (r < 0 && r !== -17) throw libError(a.pointer, `adding ${a.name}`, r); // EEXIST: the native one
    }
    if (dropNative !== undefined) {
      const r = l.archRemove(ctx, dropNative);
      if (r < 0) throw libError('/linux/seccomp/architectures', 'leaving out the native architecture', r);
    }

    let flags = 0;
    (sc.flags ?? []).forEach((f, i) => {
      const at = `/linux/seccomp/flags/${i}`;
      switch (f) {
        case 'SECCOMP_FILTER_FLAG_TSYNC':
          // One thread (the child is a fork): nothing to synchronize, and TSYNC excludes a listener. runc ignores it too.
          break;
        case 'SECCOMP_FILTER_FLAG_LOG': {
          const r = l.attrSet(ctx, ATTR_CTL_LOG, 1);
          if (r < 0) throw libError(at, f, r);
          flags |= FILTER_FLAG.LOG;
          break;
        }
        case 'SECCOMP_FILTER_FLAG_SPEC_ALLOW': {
          const r = l.attrSet(ctx, ATTR_CTL_SSB, 1);
          if (r < 0) throw libError(at, f, r);
          flags |= FILTER_FLAG.SPEC_ALLOW;
          break;
        }
        case 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV':
          // Newer than libseccomp 2.5: passed to seccomp(2) directly (the kernel wants a listener with it).
          flags |= FILTER_FLAG.WAIT_KILLABLE_RECV;
          break;
      }
    });
    const syscalls = sc.syscalls ?? [];
    // runc's threshold for libseccomp's binary-tree layout (the same for every filter of a merge).
    if (syscalls.length > 400 || enosys.length > 0) l.attrSet(ctx, ATTR_CTL_OPTIMIZE, 2);

    let notify = false;
    syscalls.forEach((rule, i) => {
      const at = `/linux/seccomp/syscalls/${i}`;
      const act = seccompAction(rule.action, rule.errnoRet);
      // libseccomp refuses a rule whose action is the default one (EACCES); runc skips it.
      if (act === defaultAct) return;
      if (rule.action === 'SCMP_ACT_NOTIFY') notify = true;
      const groups = conditionGroups(rule.args ?? []);
      rule.names.forEach((name, k) => {
        const nr = l.syscallResolve(name);
        if (nr === NR_SCMP_ERROR) {
          warn(`config.json: ${at}/names/${k}: unknown system call ${JSON.stringify(name)} (skipped)`);
          return;
        }
        for (const group of groups) {
          const cmps = group.map((a) => ({ arg: a.index, op: CMP[a.op]!, datum_a: BigInt(a.value), datum_b: BigInt(a.valueTwo ?? 0) }));
          const r = l.ruleAdd(ctx, act, nr, cmps.length, cmps.length > 0 ? cmps : null);
          if (r < 0) throw libError(at, `adding the rule for ${name}`, r);
        }
      });
    });
    const enosysAct = seccompAction('SCMP_ACT_ERRNO', ENOSYS);
    for (const nr of enosys) {
      const r = l.ruleAdd(ctx, enosysAct, nr, 0, null);
      if (r < 0) throw libError('/linux/seccomp', `adding the ENOSYS rule for system call ${nr}`, r);
    }
    if (notify) flags |= FILTER_FLAG.NEW_LISTENER;
    if ((flags & FILTER_FLAG.WAIT_KILLABLE_RECV) !== 0 && !notify) {
      const i = (sc.flags ?? []).indexOf('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV');
      throw new TsruncError('invalid-config', `config.json: /linux/seccomp/flags/${i}: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule`);
    }
    return { ctx, flags, notify };
  } catch (e) {
    l.release(ctx);
    throw e;
  }
}

function exportBpf(l: Lib, ctx: unknown): Uint8Array {
  const fd = l.memfd('tsrunc-seccomp', MFD_CLOEXEC);
  if (fd < 0) throw new TsruncError('internal', `memfd_create for the seccomp program: errno ${l.errno()}`);
  try {
    const r = l.exportBpf(ctx, fd);
    if (r < 0) throw libError('/linux/seccomp', 'exporting the program', r);
    const size = fstatSync(fd).size;
    const out = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, out, got, size - got, got);
      if (n <= 0) break;
      got += n;
    }
    if (got !== size || size === 0 || size % 8 !== 0) throw new TsruncError('internal', `libseccomp exported ${got} of ${size} bytes`);
    if (size / 8 > 4096) {
      throw new TsruncError('invalid-config', `config.json: /linux/seccomp: the compiled program has ${size / 8} instructions, more than the kernel's 4096`);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
