// `exec`: run one more process in a running container. The C core joins the init's namespaces (the
// user namespace first, a new pid namespace through its double fork) and runs the same process ops
// `create` runs for the init (build-plan's processOps, without the start barrier), then execs.
import { fstatSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { TsruncError, errnoCode } from '../errors.js';
import { loadConfig, parseConfig, parseJsonLossless } from '../spec/load.js';
import type { Config, Process } from '../spec/schema.js';
import type { StateFile } from '../spec/state-schema.js';
import { processOps, type PlanContext } from '../linux/build-plan.js';
import { compileSeccomp } from '../linux/seccomp.js';
import { readRootfsFile, lookupExecUser } from '../linux/rootfs-files.js';
import { isSameLiveProcess } from '../linux/proc.js';
import * as native from '../native/index.js';
import { HOOK_NAMESPACES } from '../native/handoff.js';
import type { Context } from './context.js';
import { sendSeccompListener } from './seccomp-listener.js';
import { liveStatus } from './live-status.js';
import { writePidFile } from './create.js';
import { maybeCgroupDir } from './cgroup.js';
import { joinRdt } from '../linux/intel-rdt.js';
import { CONSOLE_TAG, checkConsoleOptions, followHostSize, relayTerminal, sendConsole } from './terminal.js';
import { relaySignals } from './signal-relay.js';

export interface ExecOptions {
  /** The command (ignored with `processFile`). */
  args: string[];
  /** --process: a JSON file holding the whole OCI process. */
  processFile?: string;
  env?: string[];
  cwd?: string;
  /** -u uid[:gid]. */
  user?: { uid: number; gid?: number };
  additionalGids?: number[];
  /** --cap: added to the bounding, effective and permitted sets (and inheritable/ambient when set). */
  caps?: string[];
  noNewPrivs?: boolean;
  tty?: boolean;
  preserveFds?: number;
  detach?: boolean;
  pidFile?: string;
  ignorePaused?: boolean;
  /** Unix socket that receives the pty master of a terminal. */
  consoleSocket?: string;
  /** fds that become the process's stdin, stdout and stderr (default: this process's own). */
  stdio?: [number, number, number];
  /** Relay this process's signals to the exec'd process in the foreground (the CLI's `exec`). */
  forwardSignals?: boolean;
}


/** Parses -u "uid[:gid]" as runc does (numbers only). */
export function parseUser(spec: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (m === null) throw new TsruncError('invalid-argument', `--user: "${spec}" is not uid[:gid] (numbers)`);
  const uid = Number(m[1]);
  const gid = m[2] !== undefined ? Number(m[2]) : undefined;
  if (uid > 0xffffffff || (gid !== undefined && gid > 0xffffffff)) throw new TsruncError('invalid-argument', `--user: "${spec}" is out of range`);
  return gid === undefined ? { uid } : { uid, gid };
}

/** Reads a --process file: the OCI process object, checked with the config's schema. */
export function readProcessFile(path: string): Process {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TsruncError(errnoCode(e) === 'ENOENT' ? 'not-found' : 'invalid-argument', `--process: ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseJsonLossless(text, { dropNulls: true });
  } catch (e) {
    throw new TsruncError('invalid-argument', `--process: ${path}: invalid JSON: ${(e as Error).message}`);
  }
  try {
    return parseConfig({ ociVersion: '1.2.0', process: value }, path).process!;
  } catch (e) {
    throw new TsruncError('invalid-argument', (e as Error).message.replace(`${path}: /process`, `--process: ${path}: `).replace(/: \/?: /, ': /'));
  }
}

/** The process to run: --process, or the container's own with the command and flags applied (runc's rules). */
export function execProcessSpec(base: Process, opts: ExecOptions): Process {
  // As runc: a --process file is taken as it is, the other process flags only apply to the command line.
  if (opts.processFile !== undefined) return checked(readProcessFile(opts.processFile));
  if (opts.args.length === 0) throw new TsruncError('invalid-argument', 'exec: missing the command to run (or --process)');
  const p = structuredClone(base);
  p.args = opts.args;
  p.terminal = opts.tty === true;
  delete p.consoleSize;
  if (opts.env !== undefined && opts.env.length > 0) p.env = [...(p.env ?? []), ...opts.env];
  if (opts.cwd !== undefined && opts.cwd !== '') p.cwd = opts.cwd;
  if (opts.user !== undefined) p.user = { ...p.user, uid: opts.user.uid, gid: opts.user.gid ?? p.user.gid };
  if (opts.additionalGids !== undefined && opts.additionalGids.length > 0) p.user = { ...p.user, additionalGids: opts.additionalGids };
  if (opts.noNewPrivs === true) p.noNewPrivileges = true;
  for (const cap of opts.caps ?? []) {
    const c = (p.capabilities ??= {});
    c.bounding = [...(c.bounding ?? []), cap];
    c.effective = [...(c.effective ?? []), cap];
    c.permitted = [...(c.permitted ?? []), cap];
    // Ambient capabilities need inheritable ones: only when the process has some already (runc).
    if (c.inheritable !== undefined) {
      c.inheritable = [...c.inheritable, cap];
      c.ambient = [...(c.ambient ?? []), cap];
    }
  }
  return checked(p);
}

function checked(p: Process): Process {
  if (!p.cwd.startsWith('/')) throw new TsruncError('invalid-argument', `exec: cwd "${p.cwd}" must be an absolute path`);
  if ((p.args ?? []).length === 0 || p.args![0] === '') throw new TsruncError('invalid-argument', 'exec: /process/args must be a non-empty array of strings');
  return p;
}

/** Opens the init's namespaces that differ from ours, the user namespace first. */
function openInitNamespaces(pid: number): { flag: number; fd: number; name: string }[] {
  const out: { flag: number; fd: number; name: string }[] = [];
  for (const ns of HOOK_NAMESPACES) {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/ns/${ns.name}`, 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue;
      for (const o of out) native.closeFd(o.fd);
      if (errnoCode(e) === 'EACCES') {
        // Until it execs, the init is not dumpable (CVE-2019-5736): only root may open its namespaces.
        throw new TsruncError('invalid-state', `the container's init (pid ${pid}) has not started yet: an unprivileged caller can exec only in a running container`, { hint: 'start it first' });
      }
      throw new TsruncError('internal', `cannot open the namespaces of the container's init (pid ${pid}): ${(e as Error).message}`);
    }
    const a = fstatSync(fd);
    let same = false;
    try {
      const b = statSync(`/proc/self/ns/${ns.name}`);
      same = a.ino === b.ino && a.dev === b.dev;
    } catch {
      // a namespace type we do not have: join it
    }
    if (same) native.closeFd(fd);
    else out.push({ flag: ns.flag, fd, name: ns.name });
  }
  return out;
}

/** Runs a process in container `id`; resolves to its exit code (0 at once with `detach`). */
export async function execInContainer(ctx: Context, id: string, opts: ExecOptions): Promise<number> {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status === 'stopped' || status === 'creating') {
    throw new TsruncError('invalid-state', `container "${id}" is ${status}: cannot exec in a container that is not running`);
  }
  if (status === 'paused' && opts.ignorePaused !== true) {
    throw new TsruncError('invalid-state', `container "${id}" is paused: cannot exec in a paused container`, { hint: 'use --ignore-paused to override' });
  }
  const config: Config = loadConfig(state.bundle, ctx.configs);
  if (config.process === undefined) throw new TsruncError('invalid-config', 'config.json: /process: required');
  const proc = execProcessSpec(config.process, opts);
  checkConsoleOptions(proc.terminal === true, opts.consoleSocket, opts.detach === true);

  const joins = openInitNamespaces(state.pid);
  try {
    // The pid may have been reused between reading the state and opening its namespaces.
    if (!isSameLiveProcess(state.pid, state.pidStartTime)) throw new TsruncError('invalid-state', `container "${id}" is not running`);
    const setgroups = readOrEmpty(`/proc/${state.pid}/setgroups`).trim();
    const execUser = lookupExecUser(readRootfsFile(state.rootfs, '/etc/passwd'), proc.user.uid);
    const planCtx: PlanContext = {
      bundle: state.bundle,
      rootfs: state.rootfs,
      rootless: ctx.rootless,
      hostHasKcore: false,
      cgroup2Dir: null,
      noPivot: false,
      execUser,
      setgroupsDenied: setgroups === 'deny',
      idMaps: null,
      statHost: () => 'missing',
      // The exec'd process gets the container's seccomp filter too, as runc does.
      seccomp: config.linux?.seccomp !== undefined ? compileSeccomp(config.linux.seccomp, (m) => ctx.logger.warn(m)) : null,
    };
    const ops = processOps({ ...config, process: proc }, planCtx, { startBarrier: false });
    const req = {
      newNamespaces: 0,
      joinNamespaces: joins.map((j) => ({ flag: j.flag, fd: j.fd, origin: { pointer: '/linux/namespaces', what: j.name } })),
      preserveFds: opts.preserveFds ?? 0,
      startSocketPath: '',
      ops,
      ...(opts.stdio !== undefined ? { stdio: opts.stdio } : {}),
    };
    const spawned = native.spawn(req);
    // Into the container's cgroup before "go": its cgroup namespace is joined after, and limits apply.
    const cgroup = maybeCgroupDir(state);
    if (cgroup !== null) {
      try {
        writeFileSync(join(cgroup, 'cgroup.procs'), String(spawned.pid));
      } catch (e) {
        // Rootless, cgroup v2 lets us move a process only from a cgroup we own too (a login session's
        // scope is root's): runc goes on without the cgroup then, and so do we.
        const denied = errnoCode(e) === 'EACCES' || errnoCode(e) === 'EPERM';
        if (!(ctx.rootless && denied)) {
          native.abort(spawned);
          throw new TsruncError('cgroup', `cannot join the container's cgroup ${cgroup}: ${(e as Error).message}`);
        }
        ctx.logger.warn(`the process runs outside the container's cgroup ${cgroup}: ${(e as Error).message}`);
      }
    }
    try {
      joinRdt(state.intelRdt, spawned.pid);
    } catch (e) {
      native.abort(spawned);
      throw e;
    }
    native.go(spawned);
    let master = -1;
    try {
      // No start barrier: EOF on the sync socket (close-on-exec) means the execve worked.
      for (;;) {
        const msg = native.nextMessage(spawned);
        if (msg.type === 'eof') break;
        if (msg.type === 'error') {
          native.abort(spawned);
          throw new TsruncError('init-failed', native.describeChildError(req, msg));
        }
        if (msg.type === 'seccomp') {
          // SCMP_ACT_NOTIFY: the exec'd process' listener goes to the agent too, as runc does.
          sendSeccompListener(config, state, spawned.pid, native.recvListenerFd(spawned), 'running');
          native.go(spawned);
        }
        if (msg.type === 'sync') {
          if (msg.tag === CONSOLE_TAG) {
            master = msg.fds?.[0] ?? -1;
            // Sized before the process runs, for a foreground exec (the console socket's owner sizes its own).
            if (master >= 0 && opts.consoleSocket === undefined) followHostSize(master);
          }
          native.go(spawned);
        }
      }
      if (master >= 0 && opts.consoleSocket !== undefined) {
        sendConsole(opts.consoleSocket, master);
        native.closeFd(master);
        master = -1;
      }
    } catch (e) {
      if (master >= 0) native.closeFd(master);
      throw e;
    }
    if (opts.pidFile !== undefined) writePidFile(resolve(ctx.cwd, opts.pidFile), spawned.pid);
    if (opts.detach === true) {
      native.closeFd(spawned.pidfd);
      native.closeFd(spawned.syncFd);
      return 0;
    }
    return await waitForeground(spawned, master, opts.forwardSignals === true);
  } finally {
    for (const j of joins) native.closeFd(j.fd);
  }
}

async function waitForeground(spawned: native.Spawned, master: number, forwardSignals: boolean): Promise<number> {
  const stopRelay = forwardSignals ? relaySignals(spawned.pidfd) : null;
  const terminal = master >= 0 ? relayTerminal(master, false) : null;
  try {
    const code = (await native.waitExit(spawned.pidfd)).code;
    await terminal?.stop();
    return code;
  } finally {
    await terminal?.stop();
    stopRelay?.();
    native.closeFd(spawned.pidfd);
    native.closeFd(spawned.syncFd);
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

