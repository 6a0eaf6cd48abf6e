// Semantic checks of a config beyond its JSON types (runc's validator and the spec's MUSTs), and the
// table of fields tsrunc does not implement yet. Pure: a config in, problems out.
import { posix } from 'node:path';
import { TsruncError } from '../errors.js';
import { capNumber } from '../linux/capabilities.js';
import { RLIMITS, isRlimitName } from '../linux/rlimits.js';
import { isBindMount } from '../linux/mount-options.js';
import { HOOK_KINDS, jsonPointer, type Config, type IDMapping, type NamespaceType, type Problem } from './schema.js';

export interface ValidateOptions {
  /** `create`/`run` need a process; other callers (e.g. hooks-only checks) may not. Default true. */
  requireProcess?: boolean;
}

export interface CheckResult {
  /** Problems that make the config unusable, in document order. */
  errors: Problem[];
  /** Things runc accepts with a warning (unknown capabilities…). */
  warnings: Problem[];
}

/** "config.json: /pointer: message". */
export function formatProblem(p: Problem, file = 'config.json'): string {
  return `${file}: ${p.pointer || '/'}: ${p.message}`;
}

/**
 * Checks a config and throws TsruncError('invalid-config') naming the first error as a JSON pointer.
 * Returns the warnings as printable lines.
 */
export function validateConfig(config: Config, opts: ValidateOptions = {}): { warnings: string[] } {
  const { errors, warnings } = checkConfig(config, opts);
  const first = errors[0];
  if (first !== undefined) throw new TsruncError('invalid-config', formatProblem(first));
  return { warnings: warnings.map((w) => formatProblem(w)) };
}

/** All semantic problems of a config. */
export function checkConfig(config: Config, opts: ValidateOptions = {}): CheckResult {
  const c = new Checker(config);
  c.version();
  c.root();
  c.process(opts.requireProcess ?? true);
  c.names();
  c.mounts();
  c.hooks();
  c.linux();
  return { errors: c.errors, warnings: c.warnings };
}

const ADD_NS = (t: NamespaceType) => `add {"type": "${t}"} to /linux/namespaces`;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
/** A user namespace takes at most this many lines in uid_map/gid_map (since Linux 4.15). */
const MAX_ID_MAPPINGS = 340;
/** sethostname(2)/setdomainname(2) refuse longer names (HOST_NAME_MAX). */
const HOST_NAME_MAX = 64;
/** runc's list of sysctls namespaced by the ipc namespace (plus fs.mqueue.*). */
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

class Checker {
  readonly errors: Problem[] = [];
  readonly warnings: Problem[] = [];
  private readonly ns: Map<NamespaceType, { path: string | undefined }>;

  constructor(private readonly c: Config) {
    this.ns = new Map();
    for (const n of c.linux?.namespaces ?? []) if (!this.ns.has(n.type)) this.ns.set(n.type, { path: n.path || undefined });
  }

  private err(pointer: string, message: string): void {
    this.errors.push({ pointer, message });
  }

  private warn(pointer: string, message: string): void {
    this.warnings.push({ pointer, message });
  }

  private has(t: NamespaceType): boolean {
    return this.ns.has(t);
  }

  /** An absolute path without NUL bytes or ".." components (container paths are attacker-controlled). */
  private containerPath(pointer: string, p: string): boolean {
    if (p === '') return this.err(pointer, 'must not be empty'), false;
    if (p.includes('\0')) return this.err(pointer, 'must not contain a NUL byte'), false;
    if (tooLong(p)) return this.err(pointer, `must be shorter than ${PATH_MAX} bytes`), false;
    if (!p.startsWith('/')) return this.err(pointer, `must be an absolute path (got ${JSON.stringify(p)})`), false;
    if (p.split('/').includes('..')) return this.err(pointer, `must not contain ".." (got ${JSON.stringify(p)})`), false;
    return true;
  }

  private noNul(pointer: string, s: string | undefined): void {
    if (s !== undefined && s.includes('\0')) this.err(pointer, 'must not contain a NUL byte');
  }

  version(): void {
    const v = this.c.ociVersion;
    const m = SEMVER.exec(v);
    if (m === null) return this.err('/ociVersion', `must be a SemVer version such as "1.2.0" (got ${JSON.stringify(v)})`);
    if (m[1] !== '1') this.err('/ociVersion', `version ${JSON.stringify(v)} is not supported (tsrunc implements runtime-spec 1.x)`);
  }

  root(): void {
    const root = this.c.root;
    if (root === undefined) return this.err('/root', 'is required');
    if (root.path === '') return this.err('/root/path', 'must not be empty');
    this.noNul('/root/path', root.path);
  }

  process(required: boolean): void {
    const p = this.c.process;
    if (p === undefined) {
      if (required) this.err('/process', 'is required');
      return;
    }
    const args = p.args ?? [];
    if (args.length === 0) this.err('/process/args', 'must be a non-empty array of strings');
    else if (args[0] === '') this.err('/process/args/0', 'must not be empty');
    args.forEach((a, i) => this.noNul(`/process/args/${i}`, a));
    if (args[0] !== undefined && tooLong(args[0])) this.err('/process/args/0', `must be shorter than ${PATH_MAX} bytes`);

    if (!p.cwd.startsWith('/')) this.err('/process/cwd', `must be an absolute path (got ${JSON.stringify(p.cwd)})`);
    else this.noNul('/process/cwd', p.cwd);
    if (tooLong(p.cwd)) this.err('/process/cwd', `must be shorter than ${PATH_MAX} bytes`);

    (p.env ?? []).forEach((e, i) => {
      const eq = e.indexOf('=');
      if (eq <= 0) this.err(`/process/env/${i}`, `must have the form NAME=value (got ${JSON.stringify(e)})`);
      else this.noNul(`/process/env/${i}`, e);
    });

    const seen = new Map<string, number>();
    (p.rlimits ?? []).forEach((r, i) => {
      const at = `/process/rlimits/${i}`;
      if (!isRlimitName(r.type)) {
        this.err(`${at}/type`, `unknown rlimit ${JSON.stringify(r.type)} (expected one of ${Object.keys(RLIMITS).join(', ')})`);
      } else if (seen.has(r.type)) {
        this.err(`${at}/type`, `duplicate rlimit ${JSON.stringify(r.type)} (also at /process/rlimits/${seen.get(r.type)})`);
      }
      seen.set(r.type, seen.get(r.type) ?? i);
      if (BigInt(r.soft) > BigInt(r.hard)) this.err(`${at}/soft`, `soft limit ${r.soft} is above the hard limit ${r.hard}`);
    });

    const caps = p.capabilities;
    if (caps !== undefined) {
      for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const) {
        (caps[set] ?? []).forEach((name, i) => {
          if (capNumber(name) === undefined) this.warn(`/process/capabilities/${set}/${i}`, `unknown capability ${JSON.stringify(name)} (ignored)`);
        });
      }
    }

    if (p.oomScoreAdj !== undefined && (p.oomScoreAdj < -1000 || p.oomScoreAdj > 1000)) {
      this.err('/process/oomScoreAdj', `must be between -1000 and 1000 (got ${p.oomScoreAdj})`);
    }

    const s = p.scheduler;
    if (s !== undefined) {
      if (s.nice !== undefined && (s.nice < -20 || s.nice > 19)) this.err('/process/scheduler/nice', `must be between -20 and 19 (got ${s.nice})`);
      if ((s.priority ?? 0) !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
        this.err('/process/scheduler/priority', 'can only be set with the SCHED_FIFO or SCHED_RR policy');
      }
      if (s.policy !== 'SCHED_DEADLINE') {
        for (const k of ['runtime', 'deadline', 'period'] as const) {
          if (s[k] !== undefined && BigInt(s[k]) !== 0n) this.err(`/process/scheduler/${k}`, 'can only be set with the SCHED_DEADLINE policy');
        }
      }
    }
    if (p.ioPriority?.priority !== undefined && (p.ioPriority.priority < 0 || p.ioPriority.priority > 7)) {
      this.err('/process/ioPriority/priority', `must be between 0 and 7 (got ${p.ioPriority.priority})`);
    }
  }

  /** hostname and domainname: runc only sets them in a new uts namespace. */
  names(): void {
    for (const key of ['hostname', 'domainname'] as const) {
      const v = this.c[key];
      if (v === undefined || v === '') continue;
      if (!this.has('uts')) this.err(`/${key}`, `setting the ${key} needs a uts namespace: ${ADD_NS('uts')}`);
      else if (v.includes('\0')) this.err(`/${key}`, 'must not contain a NUL byte');
      else if (Buffer.byteLength(v) > HOST_NAME_MAX) this.err(`/${key}`, `must be at most ${HOST_NAME_MAX} bytes long`);
    }
  }

  mounts(): void {
    (this.c.mounts ?? []).forEach((m, i) => {
      const at = `/mounts/${i}`;
      this.containerPath(`${at}/destination`, m.destination);
      this.noNul(`${at}/source`, m.source);
      if (m.source !== undefined && tooLong(m.source)) this.err(`${at}/source`, `must be shorter than ${PATH_MAX} bytes`);
      (m.options ?? []).forEach((o, j) => this.noNul(`${at}/options/${j}`, o));
      // The mount data the options become is one page at most for the kernel.
      if (tooLong((m.options ?? []).join(','))) this.err(`${at}/options`, `must be shorter than ${PATH_MAX} bytes together`);
      this.noNul(`${at}/type`, m.type);
      const bind = isBindMount(m.options) || m.type === 'bind';
      if (bind && (m.source ?? '') === '') this.err(`${at}/source`, 'is required for a bind mount');
      if (!bind && (m.type ?? '') === '') this.err(`${at}/type`, 'is required (or give the "bind" or "rbind" option)');
      this.idMappings(`${at}/uidMappings`, m.uidMappings);
      this.idMappings(`${at}/gidMappings`, m.gidMappings);
    });
  }

  hooks(): void {
    const hooks = this.c.hooks;
    if (hooks === undefined) return;
    for (const kind of HOOK_KINDS) {
      (hooks[kind] ?? []).forEach((h, i) => {
        if (!h.path.startsWith('/')) this.err(`/hooks/${kind}/${i}/path`, `must be an absolute path (got ${JSON.stringify(h.path)})`);
        else this.noNul(`/hooks/${kind}/${i}/path`, h.path);
      });
    }
  }

  linux(): void {
    const l = this.c.linux;
    if (l === undefined) return;

    const first = new Map<string, number>();
    (l.namespaces ?? []).forEach((n, i) => {
      const at = `/linux/namespaces/${i}`;
      const prev = first.get(n.type);
      if (prev !== undefined) this.err(`${at}/type`, `duplicate namespace ${JSON.stringify(n.type)} (also at /linux/namespaces/${prev})`);
      else first.set(n.type, i);
      if (n.path !== undefined && n.path !== '') {
        if (!n.path.startsWith('/')) this.err(`${at}/path`, `must be an absolute path (got ${JSON.stringify(n.path)})`);
        else this.noNul(`${at}/path`, n.path);
      }
    });

    for (const key of ['uidMappings', 'gidMappings'] as const) {
      const maps = l[key];
      if (maps === undefined) continue;
      if (!this.has('user')) this.err(`/linux/${key}`, `needs a user namespace: ${ADD_NS('user')}`);
      else this.idMappings(`/linux/${key}`, maps);
    }

    if (l.timeOffsets !== undefined && Object.keys(l.timeOffsets).length > 0) {
      if (!this.has('time')) this.err('/linux/timeOffsets', `needs a time namespace: ${ADD_NS('time')}`);
      for (const [clock, off] of Object.entries(l.timeOffsets)) {
        const at = `/linux/timeOffsets${jsonPointer([clock])}`;
        if (clock !== 'monotonic' && clock !== 'boottime') this.err(at, `unknown clock ${JSON.stringify(clock)} (expected monotonic or boottime)`);
        else if ((off.nanosecs ?? 0) >= 1e9) this.err(`${at}/nanosecs`, 'must be less than 1000000000');
      }
    }

    (l.devices ?? []).forEach((d, i) => {
      const at = `/linux/devices/${i}`;
      if (!this.containerPath(`${at}/path`, d.path)) return;
      if (!d.path.startsWith('/dev/')) this.err(`${at}/path`, `must be under /dev (got ${JSON.stringify(d.path)})`);
      if (d.type !== 'p') {
        for (const k of ['major', 'minor'] as const) {
          const v = d[k];
          if (v === undefined) this.err(`${at}/${k}`, `is required for a "${d.type}" device`);
          else if (v < 0) this.err(`${at}/${k}`, `must not be negative (got ${v})`);
        }
      }
    });

    for (const key of ['maskedPaths', 'readonlyPaths'] as const) {
      const paths = l[key] ?? [];
      if (paths.length > 0 && !this.has('mount')) this.err(`/linux/${key}`, `needs a mount namespace: ${ADD_NS('mount')}`);
      paths.forEach((p, i) => this.containerPath(`/linux/${key}/${i}`, p));
    }

    for (const [key, value] of Object.entries(l.sysctl ?? {})) {
      const at = `/linux/sysctl${jsonPointer([key])}`;
      if (key.includes('\0') || value.includes('\0')) this.err(at, 'must not contain a NUL byte');
      else if (tooLong(key) || tooLong(value)) this.err(at, `must be shorter than ${PATH_MAX} bytes`);
      else this.sysctl(key);
    }

    (l.resources?.devices ?? []).forEach((d, i) => {
      if ((d.access ?? '') === '') this.err(`/linux/resources/devices/${i}/access`, 'must not be empty (a combination of r, w and m)');
    });

    const sc = l.seccomp;
    if (sc !== undefined) {
      const errnoActions = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);
      if (sc.defaultAction === 'SCMP_ACT_NOTIFY') this.err('/linux/seccomp/defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action');
      if (sc.defaultErrnoRet !== undefined && !errnoActions.has(sc.defaultAction)) {
        this.err('/linux/seccomp/defaultErrnoRet', `cannot be used with ${sc.defaultAction} (only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE)`);
      }
      const noListener = (sc.listenerPath ?? '') === '';
      if (noListener && (sc.listenerMetadata ?? '') !== '') this.err('/linux/seccomp/listenerMetadata', 'needs /linux/seccomp/listenerPath');
      (sc.syscalls ?? []).forEach((s, i) => {
        const at = `/linux/seccomp/syscalls/${i}`;
        if (s.errnoRet !== undefined && !errnoActions.has(s.action)) {
          this.err(`${at}/errnoRet`, `cannot be used with ${s.action} (only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE)`);
        }
        if (s.action === 'SCMP_ACT_NOTIFY' && noListener) this.err(`${at}/action`, 'SCMP_ACT_NOTIFY needs /linux/seccomp/listenerPath');
        (s.args ?? []).forEach((a, j) => {
          if (a.index > 5) this.err(`${at}/args/${j}/index`, `must be between 0 and 5 (got ${a.index})`);
        });
      });
    }

    const closID = l.intelRdt?.closID;
    if (closID !== undefined && (closID === '.' || closID === '..' || closID.includes('/'))) {
      this.err('/linux/intelRdt/closID', `invalid CLOS id ${JSON.stringify(closID)}`);
    }

    if ((l.personality?.flags ?? []).length > 0) this.warn('/linux/personality/flags', 'personality flags are not supported (ignored)');
  }

  /** runc's rule: only sysctls of a namespace the container has its own of. */
  private sysctl(key: string): void {
    const at = `/linux/sysctl${jsonPointer([key])}`;
    const s = dotted(key);
    if (IPC_SYSCTLS.has(s) || s.startsWith('fs.mqueue.')) {
      if (!this.has('ipc')) this.err(at, `needs an ipc namespace: ${ADD_NS('ipc')}`);
      return;
    }
    if (s.startsWith('net.')) {
      // A joined network namespace (path) may still be the host's; the runtime checks that.
      if (!this.has('network')) this.err(at, `needs a network namespace: ${ADD_NS('network')}`);
      return;
    }
    if (this.has('uts') && s === 'kernel.domainname') return;
    if (this.has('uts') && s === 'kernel.hostname') return this.err(at, 'conflicts with /hostname: set the hostname there');
    this.err(at, 'is not in a namespace of the container: setting it would change the host');
  }

  /** Sizes, 32-bit overflow, overlaps and count, as the kernel checks uid_map/gid_map. */
  private idMappings(at: string, maps: IDMapping[] | undefined): void {
    if (maps === undefined) return;
    if (maps.length > MAX_ID_MAPPINGS) return this.err(at, `must have at most ${MAX_ID_MAPPINGS} entries`);
    maps.forEach((m, i) => {
      if (m.size === 0) this.err(`${at}/${i}/size`, 'must be at least 1');
      else if (m.containerID + m.size > 2 ** 32 || m.hostID + m.size > 2 ** 32) this.err(`${at}/${i}/size`, 'the range goes past 4294967295');
      for (let j = 0; j < i; j++) {
        const o = maps[j]!;
        if (overlap(m.containerID, m.size, o.containerID, o.size)) this.err(`${at}/${i}`, `overlaps ${at}/${j} in the container`);
        else if (overlap(m.hostID, m.size, o.hostID, o.size)) this.err(`${at}/${i}`, `overlaps ${at}/${j} on the host`);
      }
    });
  }
}

/** Paths and strings the C core takes are at most PATH_MAX bytes with their NUL (helpers/plan.c checks). */
const PATH_MAX = 4096;
function tooLong(s: string): boolean {
  return Buffer.byteLength(s) >= PATH_MAX;
}

function overlap(a: number, an: number, b: number, bn: number): boolean {
  return an > 0 && bn > 0 && a < b + bn && b < a + an;
}

/** sysctl(8) also accepts "/" as separator ("net/ipv4/ip_forward"): swap to dots as runc does. */
function dotted(key: string): string {
  const first = key.search(/[./]/);
  if (first === -1 || key[first] === '.') return key;
  return key.replace(/[./]/g, (ch) => (ch === '.' ? '/' : '.'));
}

/** Cleans a container path: "//a/./b/" → "/a/b". Assumes validation refused "..". */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

// ---------------------------------------------------------------------------------------------------
// What tsrunc does not implement yet. Each row finds the JSON pointers of the fields it covers; a later
// change that implements a feature deletes its row.

/** The caller's ids: the mapping rule depends on them. */
export interface Caller {
  uid: number;
  gid: number;
  /** Not running as root; defaults to uid !== 0. */
  rootless?: boolean;
}

export interface UnsupportedField {
  pointer: string;
  reason: string;
}

interface UnsupportedRow {
  /** The field, as people name it. */
  field: string;
  /** Pointers of the offending values in this config (none: the row does not apply). */
  find: (c: Config, caller: Required<Caller>) => { pointer: string; reason?: string }[];
  reason: string;
}

const set = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
const at = (pointer: string, v: unknown) => (set(v) ? [{ pointer }] : []);
const YET = 'is not supported by tsrunc yet';

export const UNSUPPORTED: readonly UnsupportedRow[] = [
  { field: 'linux.netDevices', reason: `moving network devices ${YET}`, find: (c) => at('/linux/netDevices', c.linux?.netDevices) },
  { field: 'process.execCPUAffinity', reason: `execCPUAffinity ${YET}`, find: (c) => (c.process?.execCPUAffinity !== undefined ? [{ pointer: '/process/execCPUAffinity' }] : []) },

];

/**
 * The fields of `config` tsrunc does not implement yet, so that the runtime refuses them clearly
 * instead of silently ignoring them. Empty when everything is supported.
 */
export function unsupportedFields(config: Config, caller: Caller): UnsupportedField[] {
  const who: Required<Caller> = { uid: caller.uid, gid: caller.gid, rootless: caller.rootless ?? caller.uid !== 0 };
  return UNSUPPORTED.flatMap((row) => row.find(config, who).map((f) => ({ pointer: f.pointer, reason: f.reason ?? row.reason })));
}
