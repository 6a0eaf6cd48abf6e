// The systemd driver: a transient scope `<prefix>-<id>.scope` with Delegate=yes, asked of systemd over
// D-Bus (the user's own manager when rootless, the system manager as root). dbus-next is loaded here
// only, when this driver is used. The low-level bus.call API is used: the proxy API introspects first.
import { readFileSync } from 'node:fs';
import type { MessageBus, Message as DbusMessage, Variant as DbusVariant } from 'dbus-next';
import { TsruncError, errnoCode } from '../../errors.js';
import type { LinuxResources } from '../../spec/schema.js';
import type { CgroupDriver, CgroupRecord, Placement, PlaceRequest } from './types.js';
import { cgroupDir, joinPath, type CgroupHost } from './host.js';
import { toUnitProperties, annotationProperties, controllersNeeded, type UnitProperty } from './resources.js';
import { writeLimits, unavailableWarning } from './files.js';
import { ignoredWarning } from './cgroupfs.js';
import { noUserBusHint } from './hints.js';
import { hostUid, readOr } from '../host.js';

type DbusModule = typeof import('dbus-next');

/** One bus connection and its JobRemoved bookkeeping (job paths are unique, so drivers can share it). */
interface Connection {
  bus: MessageBus;
  mod: DbusModule;
  jobs: Map<string, string>;
  waiters: Map<string, (result: string) => void>;
}

/**
 * Connections kept open by address for a long-lived caller (a Runtime), so that its containers do not
 * each pay a connect, authentication, Hello, AddMatch and Subscribe (two per container: place, destroy).
 * An idle connection is closed after IDLE_MS, so it never keeps a program alive for long.
 */
export class SystemdBuses {
  readonly #open = new Map<string, { conn: Promise<Connection>; users: number; idle: NodeJS.Timeout | null }>();

  /** The connection for `address`, opened by `open` when there is none. Call release() after use. */
  acquire(address: string, open: () => Promise<Connection>): Promise<Connection> {
    let e = this.#open.get(address);
    if (e === undefined) {
      e = { conn: open(), users: 0, idle: null };
      const entry = e;
      this.#open.set(address, entry);
      entry.conn.then(
        (c) => c.bus.on('error', () => this.#drop(address, entry)),
        () => this.#drop(address, entry),
      );
    }
    if (e.idle !== null) clearTimeout(e.idle);
    e.idle = null;
    e.users++;
    return e.conn;
  }

  release(address: string): void {
    const e = this.#open.get(address);
    if (e === undefined || --e.users > 0) return;
    e.idle = setTimeout(() => this.#drop(address, e), SystemdBuses.IDLE_MS);
    e.idle.unref();
  }

  /** Closes every connection. */
  close(): void {
    for (const [address, e] of this.#open) this.#drop(address, e);
  }

  static readonly IDLE_MS = 2000;

  #drop(address: string, e: { conn: Promise<Connection>; idle: NodeJS.Timeout | null }): void {
    if (this.#open.get(address) !== e) return;
    this.#open.delete(address);
    if (e.idle !== null) clearTimeout(e.idle);
    e.conn.then((c) => disconnect(c.bus), () => {});
  }
}

function disconnect(bus: MessageBus): void {
  try {
    bus.disconnect();
  } catch {
    // already closed
  }
}

/**
 * dbus-next's EXTERNAL authentication names the caller by process.getuid(). In a user namespace
 * (podman runs us as its uid 0) the bus, outside it, sees our host uid on the socket and refuses any
 * other: claim that one until the handshake is over, as runc's DetectUID does. Returns the undo.
 */
function claimHostUid(): () => void {
  const uid = process.getuid?.();
  const host = uid === undefined ? null : hostUid(uid, readOr('/proc/self/uid_map', ''));
  if (host === null || host === uid) return () => {};
  const original = process.getuid;
  process.getuid = () => host;
  return () => {
    process.getuid = original;
  };
}

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER = { destination: SYSTEMD, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager' };
const JOB_TIMEOUT_MS = 30_000;

/** The unit a container gets, from `slice:prefix:name` (runc's systemd cgroupsPath form). */
export interface UnitName {
  /** "" lets systemd pick (app.slice for a user manager, system.slice as root). */
  slice: string;
  unit: string;
}

/** Parses runc's systemd form `slice:prefix:name` (any part may be empty). Throws a message. */
export function parseSystemdPath(cgroupsPath: string | undefined, id: string): UnitName {
  if (cgroupsPath === undefined || cgroupsPath === '') return { slice: '', unit: `tsrunc-${id}.scope` };
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) throw new Error(`"${cgroupsPath}" is not of the form slice:prefix:name for systemd cgroups`);
  const [slice, prefix, name] = parts as [string, string, string];
  if (slice !== '' && !slice.endsWith('.slice')) throw new Error(`"${slice}" is not a slice name (it must end in .slice)`);
  if (name.endsWith('.slice')) throw new Error(`"${name}": a container needs a scope, not a slice`);
  const base = name === '' ? id : name;
  return { slice, unit: `${prefix === '' ? 'tsrunc' : prefix}-${base}.scope` };
}

/** Where a slice sits in the hierarchy: "a-b.slice" → "/a.slice/a-b.slice" ("-.slice" is the root). */
export function slicePath(slice: string): string {
  if (slice === '' || slice === '-.slice') return '/';
  const name = slice.slice(0, -'.slice'.length);
  const parts = name.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('-') + '.slice');
  return '/' + out.join('/');
}

/** True when a cgroupsPath is in systemd's form (it has colons), as runc decides. */
export function isSystemdPath(cgroupsPath: string | undefined): boolean {
  return cgroupsPath !== undefined && cgroupsPath.includes(':');
}

export class SystemdDriver implements CgroupDriver {
  readonly name = 'systemd' as const;
  private conn: Connection | null = null;
  /** The connection being opened or acquired (set before the first await, so close() can end it). */
  private pending: Promise<Connection> | null = null;

  constructor(
    private readonly host: CgroupHost,
    /** D-Bus address (unix:path=…). */
    private readonly address: string,
    /** The user's manager (true) or the system's. */
    private readonly user: boolean,
    private readonly unit: UnitName,
    /** Connections to share (a Runtime's); without, the driver opens its own and close() ends it. */
    private readonly buses?: SystemdBuses,
  ) {}

  private get mod(): DbusModule {
    return this.conn!.mod;
  }

  /** The connection, subscribed to the manager's signals with the JobRemoved match before any job. */
  private async connect(): Promise<Connection> {
    if (this.conn !== null) return this.conn;
    this.pending ??= this.buses !== undefined ? this.buses.acquire(this.address, () => this.open()) : this.open();
    this.conn = await this.pending;
    return this.conn;
  }

  private async open(): Promise<Connection> {
    const mod = await import('dbus-next');
    const restoreUid = claimHostUid();
    const bus = mod.sessionBus({ busAddress: this.address });
    const conn: Connection = { bus, mod, jobs: new Map(), waiters: new Map() };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer in 10 s')), 10_000);
      bus.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      bus.once('error', (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      });
    })
      .finally(restoreUid)
      .catch((e: unknown) => {
        disconnect(bus);
        const code = errnoCode(e);
        throw new TsruncError('host-not-ready', `cannot connect to the ${this.user ? 'user' : 'system'} bus at ${this.address}: ${code ?? (e as Error).message}`, {
          cause: e,
          hint: this.user ? noUserBusHint(process.env.USER ?? 'USER') : 'start dbus and systemd',
        });
      });
    bus.on('error', () => {
      // a later socket error fails the pending calls; nothing else listens
    });
    bus.on('message', (m: DbusMessage) => {
      if (m.interface !== MANAGER.interface || m.member !== 'JobRemoved') return;
      const [, job, , result] = m.body as [number, string, string, string];
      const w = conn.waiters.get(job);
      if (w !== undefined) w(result);
      else conn.jobs.set(job, result);
    });
    try {
      await callOn(conn, {
        destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's',
        body: [`type='signal',sender='${SYSTEMD}',path='/org/freedesktop/systemd1',interface='${MANAGER.interface}',member='JobRemoved'`],
      });
      await callOn(conn, { ...MANAGER, member: 'Subscribe' });
    } catch (e) {
      disconnect(bus);
      throw e;
    }
    return conn;
  }

  private async call(msg: { destination: string; path: string; interface: string; member: string; signature?: string; body?: unknown[] }): Promise<unknown[]> {
    return callOn(this.conn!, msg);
  }

  /** Waits for the JobRemoved of `job` (it may have come already) and resolves to its result. */
  private waitJob(job: string, what: string): Promise<string> {
    const { jobs, waiters } = this.conn!;
    const early = jobs.get(job);
    if (early !== undefined) {
      jobs.delete(job);
      return Promise.resolve(early);
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(job);
        reject(new TsruncError('cgroup', `${what}: systemd did not finish job ${job} in ${JOB_TIMEOUT_MS / 1000} s`));
      }, JOB_TIMEOUT_MS);
      waiters.set(job, (r) => {
        clearTimeout(timer);
        waiters.delete(job);
        resolve(r);
      });
    });
  }

  private variants(props: UnitProperty[]): [string, DbusVariant][] {
    const V = this.mod.Variant;
    return props.map((p) => [p.name, new V(p.signature, p.value)]);
  }

  async prepare(): Promise<{ path: string; managerCgroup: string }> {
    await this.connect();
    let managerCgroup: string;
    try {
      const [v] = (await this.call({
        destination: SYSTEMD, path: MANAGER.path, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [MANAGER.interface, 'ControlGroup'],
      })) as [{ value: unknown }];
      managerCgroup = typeof v?.value === 'string' && v.value !== '' ? v.value : '/';
    } catch (e) {
      throw this.dbusFailure(e, 'cannot ask systemd for its cgroup');
    }
    return { path: joinPath(managerCgroup, slicePath(this.slice()), this.unit.unit), managerCgroup };
  }

  /** The slice the scope goes to: the configured one, else runc's defaults (user.slice rootless). */
  private slice(): string {
    return this.unit.slice !== '' ? this.unit.slice : this.user ? 'user.slice' : 'system.slice';
  }

  async place(pid: number, req: PlaceRequest): Promise<Placement> {
    let props: ReturnType<typeof toUnitProperties>;
    let annotations: UnitProperty[];
    try {
      props = toUnitProperties(req.resources);
      annotations = annotationProperties(req.annotations);
    } catch (e) {
      throw new TsruncError('invalid-config', `config.json: ${(e as Error).message}`);
    }
    await this.connect();
    const unit = this.unit.unit;
    const all: UnitProperty[] = [
      { name: 'Description', signature: 's', value: `tsrunc container ${req.id}` },
      { name: 'Slice', signature: 's', value: this.slice() },
      { name: 'Delegate', signature: 'b', value: true },
      { name: 'DefaultDependencies', signature: 'b', value: false },
      { name: 'PIDs', signature: 'au', value: [pid] },
      ...props.properties,
      ...annotations,
    ];
    const start = async (): Promise<string> => {
      const [job] = (await this.call({ ...MANAGER, member: 'StartTransientUnit', signature: 'ssa(sv)a(sa(sv))', body: [unit, 'replace', this.variants(all), []] })) as [string];
      return this.waitJob(job, `starting ${unit}`);
    };
    let result: string;
    try {
      result = await start();
    } catch (e) {
      if (!isDbusError(e, 'org.freedesktop.systemd1.UnitExists')) throw this.dbusFailure(e, `cannot start ${unit}`);
      // A stale unit of the same name (a failed one, or one whose processes are still dying): reset, retry once.
      await this.resetFailed(unit);
      try {
        result = await start();
      } catch (e2) {
        throw this.dbusFailure(e2, `cannot start ${unit} (a unit of that name already exists)`);
      }
    }
    if (result !== 'done') {
      await this.resetFailed(unit);
      throw new TsruncError('cgroup', `systemd could not start ${unit}: job ${result}`, {
        hint: `see \`journalctl ${this.user ? '--user ' : ''}-u ${unit}\`; systemd must be able to move the process: run tsrunc from a cgroup your manager owns (systemd-run ${this.user ? '--user ' : ''}--scope tsrunc …)`,
      });
    }
    const path = ownCgroupPath(pid);
    const warnings: string[] = [];
    if (path !== null) {
      const dir = cgroupDir(this.host, path);
      const { unavailable } = writeLimits(dir, props.rest);
      // systemd records every property; say which limits the kernel cannot enforce here.
      const wanted = controllersNeeded([...props.rest, ...limitFiles(props.properties)]);
      const have = availableHere(dir);
      const missing = [...new Set([...unavailable, ...wanted.filter((c) => !have.includes(c))])];
      const w = unavailableWarning(missing, dir);
      if (w !== null) warnings.push(w);
    }
    const iw = ignoredWarning(props.ignored);
    if (iw !== null) warnings.push(iw);
    return { record: { driver: 'systemd', unit, ...(path !== null ? { path } : {}) }, warnings };
  }

  async update(record: CgroupRecord, resources: LinuxResources): Promise<string[]> {
    let props: ReturnType<typeof toUnitProperties>;
    try {
      props = toUnitProperties(resources);
    } catch (e) {
      throw new TsruncError('invalid-argument', (e as Error).message);
    }
    await this.connect();
    const unit = record.unit ?? this.unit.unit;
    if (props.properties.length > 0) {
      try {
        await this.call({ ...MANAGER, member: 'SetUnitProperties', signature: 'sba(sv)', body: [unit, true, this.variants(props.properties)] });
      } catch (e) {
        throw this.dbusFailure(e, `cannot update ${unit}`);
      }
    }
    const warnings: string[] = [];
    if (record.path !== undefined) {
      const dir = cgroupDir(this.host, record.path);
      const { unavailable } = writeLimits(dir, props.rest);
      const have = availableHere(dir);
      const wanted = controllersNeeded(limitFiles(props.properties));
      const w = unavailableWarning([...new Set([...unavailable, ...wanted.filter((c) => !have.includes(c))])], dir);
      if (w !== null) warnings.push(w);
    }
    const iw = ignoredWarning(props.ignored);
    if (iw !== null) warnings.push(iw);
    return warnings;
  }

  async destroy(record: CgroupRecord): Promise<void> {
    const unit = record.unit;
    if (unit === undefined) return;
    await this.connect();
    try {
      const [job] = (await this.call({ ...MANAGER, member: 'StopUnit', signature: 'ss', body: [unit, 'replace'] })) as [string];
      await this.waitJob(job, `stopping ${unit}`);
    } catch (e) {
      if (!isDbusError(e, 'org.freedesktop.systemd1.NoSuchUnit')) throw this.dbusFailure(e, `cannot stop ${unit}`);
    }
    await this.resetFailed(unit);
  }

  /** ResetFailedUnit, ignoring "no such unit" and "not failed". */
  private async resetFailed(unit: string): Promise<void> {
    try {
      await this.call({ ...MANAGER, member: 'ResetFailedUnit', signature: 's', body: [unit] });
    } catch (e) {
      if (!isDbusError(e, 'org.freedesktop.systemd1.NoSuchUnit', 'org.freedesktop.systemd1.UnitNotFailed') && !(e instanceof TsruncError)) {
        throw this.dbusFailure(e, `cannot reset ${unit}`);
      }
    }
  }

  private dbusFailure(e: unknown, what: string): TsruncError {
    if (e instanceof TsruncError) return e;
    const text = isDbusError(e) ? `${(e as { text?: string }).text ?? ''} (${(e as { type: string }).type})` : (e as Error).message;
    return new TsruncError('cgroup', `${what}: ${text}`, { cause: e });
  }

  close(): void {
    const pending = this.pending;
    this.pending = null;
    this.conn = null;
    if (pending === null) return;
    if (this.buses !== undefined) this.buses.release(this.address);
    else pending.then((c) => disconnect(c.bus), () => {});
  }
}

async function callOn(conn: Connection, msg: { destination: string; path: string; interface: string; member: string; signature?: string; body?: unknown[] }): Promise<unknown[]> {
  const reply = await conn.bus.call(new conn.mod.Message(msg));
  return (reply?.body ?? []) as unknown[];
}

function isDbusError(e: unknown, ...types: string[]): boolean {
  if (typeof e !== 'object' || e === null || !('type' in e) || typeof e.type !== 'string') return false;
  return types.length === 0 || types.includes(e.type);
}

/** The "0::" cgroup of `pid`, or null when it cannot be read. */
function ownCgroupPath(pid: number): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line === undefined ? null : line.slice(3).trim();
  } catch {
    return null;
  }
}

function availableHere(dir: string): string[] {
  try {
    return readFileSync(`${dir}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter((c) => c !== '');
  } catch {
    return [];
  }
}

/** The cgroup files systemd writes for limit properties (to tell which controllers they need). */
function limitFiles(props: UnitProperty[]): { file: string; value: string; pointer: string }[] {
  const files: Record<string, string> = {
    MemoryMax: 'memory.max', MemoryLow: 'memory.low', MemoryHigh: 'memory.high', MemoryMin: 'memory.min', MemorySwapMax: 'memory.swap.max',
    TasksMax: 'pids.max', CPUWeight: 'cpu.weight', CPUQuotaPerSecUSec: 'cpu.max', CPUQuotaPeriodUSec: 'cpu.max',
    AllowedCPUs: 'cpuset.cpus', AllowedMemoryNodes: 'cpuset.mems', IOWeight: 'io.weight',
  };
  return props.filter((p) => files[p.name] !== undefined).map((p) => ({ file: files[p.name]!, value: '', pointer: '' }));
}
