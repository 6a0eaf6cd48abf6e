// OCI hooks (config.md "POSIX-platform Hooks"): prestart, createRuntime, poststart and poststop run
// in the runtime's namespaces; createContainer and startContainer run inside the container's
// namespaces, through the C core joining the namespace fds the init handed over at a hook point.
// Each gets the container's state on stdin, its own args and env, and is killed past its timeout.
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError } from '../errors.js';
import type { HookKind } from '../spec/schema.js';
import { HOOK_KINDS } from '../spec/schema.js';
import * as native from '../native/index.js';
import { closeNamespaceFds, connGo, connNext, namespaceFds, startConnect, waitTimeout, type NamespaceFds } from '../native/handoff.js';
import type { Op } from '../native/plan.js';
import type { Logger } from './context.js';
import { currentCall } from './call.js';
import type { OciState } from './live-status.js';

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export type Hooks = Partial<Record<HookKind, Hook[]>>;

const SIGKILL = 9;

/** The hooks kept in a state file (written from a validated config), read back defensively. */
export function hooksOf(raw: unknown): Hooks {
  const out: Hooks = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const kind of HOOK_KINDS) {
    const list = (raw as Record<string, unknown>)[kind];
    if (!Array.isArray(list)) continue;
    out[kind] = list.filter((h): h is Hook => typeof h === 'object' && h !== null && typeof (h as Hook).path === 'string');
  }
  return out;
}

/** The hooks a state file keeps: those that run after `create` returns. */
export function hooksToKeep(hooks: Hooks | undefined): Hooks | undefined {
  if (hooks === undefined) return undefined;
  const keep: Hooks = {};
  for (const kind of ['startContainer', 'poststart', 'poststop'] as const) if ((hooks[kind] ?? []).length > 0) keep[kind] = hooks[kind];
  return Object.keys(keep).length > 0 ? keep : undefined;
}

function describe(kind: HookKind, i: number, h: Hook): string {
  return `/hooks/${kind}/${i} (${h.path})`;
}

function failure(kind: HookKind, i: number, h: Hook, why: string, output: string): TsruncError {
  const out = output.trim().replace(/\s*\n\s*/g, '; ');
  const tail = out === '' ? '' : `: ${out.length > 300 ? out.slice(0, 300) + '…' : out}`;
  return new TsruncError('init-failed', `config.json: ${describe(kind, i, h)}: hook ${why}${tail}`);
}

/** The hook's environment: its own `env` when given, else the runtime's (as runc's exec.Cmd does). */
function hookEnv(h: Hook): string[] {
  if (h.env !== undefined) return h.env;
  return Object.entries(currentCall().env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
}

/**
 * Runs the hooks of `kind` in the runtime's namespaces, in order; the first failure throws
 * TsruncError('init-failed') naming the hook, with what it printed.
 */
export function runHostHooks(kind: HookKind, hooks: Hooks, state: OciState): void {
  const input = JSON.stringify(state);
  (hooks[kind] ?? []).forEach((h, i) => runHostHook(kind, i, h, input));
}

/** Like runHostHooks for hooks whose failure is only a warning (poststart, poststop): all of them run. */
export function runHostHooksWarn(kind: 'poststart' | 'poststop', hooks: Hooks, state: OciState, logger: Logger): void {
  const input = JSON.stringify(state);
  (hooks[kind] ?? []).forEach((h, i) => {
    try {
      runHostHook(kind, i, h, input);
    } catch (e) {
      logger.warn((e as Error).message);
    }
  });
}

function runHostHook(kind: HookKind, i: number, h: Hook, input: string): void {
  const args = h.args !== undefined && h.args.length > 0 ? h.args : [h.path];
  const env: Record<string, string> = {};
  for (const e of hookEnv(h)) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const r = spawnSync(h.path, args.slice(1), {
    argv0: args[0],
    env,
    cwd: currentCall().cwd,
    input,
    encoding: 'utf8',
    timeout: h.timeout !== undefined ? h.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 20,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') throw failure(kind, i, h, `ran past its timeout of ${h.timeout}s and was killed`, output);
  if (r.error !== undefined && code !== 'EPIPE') throw failure(kind, i, h, `could not run: ${r.error.message}`, output);
  if (r.signal !== null) throw failure(kind, i, h, `was killed by ${r.signal}`, output);
  if (r.status !== 0) throw failure(kind, i, h, `exited with status ${r.status}`, output);
}

/** Where a container hook runs: the init's namespaces, its root (`cwd` inside them), a scratch directory. */
export interface ContainerHookPlace {
  ns: NamespaceFds;
  /** Working directory inside the joined mount namespace. */
  cwd: string;
  /** The init's pid, to read its uid_map. */
  pid: number;
  /** A directory of the runtime's for the hook's stdin and output files. */
  scratch: string;
}

function sameNamespace(fd: number, name: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(`/proc/self/ns/${name}`);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** True when id 0 is mapped in the user namespace of `pid`. */
function mapsRoot(pid: number, which: 'uid' | 'gid'): boolean {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/${which}_map`, 'utf8');
  } catch {
    return false;
  }
  return text.split('\n').some((l) => {
    const [inside, , size] = l.trim().split(/\s+/).map(Number);
    return inside !== undefined && size !== undefined && inside <= 0 && 0 < inside + size;
  });
}

/**
 * Runs the hooks of `kind` inside the container's namespaces, as the container's root, one after the
 * other; the first failure throws. The namespace fds stay the caller's.
 */
export function runContainerHooks(kind: 'createContainer' | 'startContainer', hooks: Hooks, state: OciState, place: ContainerHookPlace): void {
  const list = hooks[kind] ?? [];
  if (list.length === 0) return;
  // Never the host's by default: without the container's mount namespace there is nowhere to run them.
  if (!place.ns.fds.some((f) => f.name === 'mnt')) {
    throw new TsruncError('init-failed', `config.json: /hooks/${kind}: the container's namespaces could not be handed over (has it a /proc?)`);
  }
  const joins = place.ns.fds.filter((f) => !sameNamespace(f.fd, f.name));
  const joinsUser = joins.some((f) => f.name === 'user');
  const origin = { pointer: `/hooks/${kind}` };
  const input = join(place.scratch, 'hook-stdin');
  const outPath = join(place.scratch, 'hook-output');
  writeFileSync(input, JSON.stringify(state), { mode: 0o600 });
  try {
    list.forEach((h, i) => {
      const at = { pointer: `/hooks/${kind}/${i}`, what: h.path };
      const ops: Op[] = [];
      if (joinsUser && mapsRoot(place.pid, 'gid')) ops.push({ op: 'setresgid', gid: 0, origin });
      if (joinsUser && mapsRoot(place.pid, 'uid')) ops.push({ op: 'setresuid', uid: 0, origin });
      ops.push({ op: 'chdir', path: place.cwd, origin: at });
      ops.push({ op: 'resolve-exec', file: h.path, searchPath: '', origin: at });
      const argv = h.args !== undefined && h.args.length > 0 ? h.args : [h.path];
      ops.push({ op: 'exec', argv, envp: hookEnv(h), origin: at });
      const inFd = openSync(input, 'r');
      const outFd = openSync(outPath, 'w', 0o600);
      const req = {
        newNamespaces: 0,
        joinNamespaces: joins.map((j) => ({ flag: j.flag, fd: j.fd, origin: at })),
        preserveFds: 0,
        startSocketPath: '',
        stdio: [inFd, outFd, outFd] as [number, number, number],
        ops,
      };
      let spawned;
      try {
        spawned = native.spawn(req);
      } finally {
        closeSync(inFd);
        closeSync(outFd);
      }
      const output = (): string => {
        try {
          return readFileSync(outPath, 'utf8');
        } catch {
          return '';
        }
      };
      try {
        native.go(spawned);
        const msg = native.nextMessage(spawned);
        if (msg.type === 'error') throw failure(kind, i, h, `could not run: ${native.describeChildError(req, msg)}`, '');
        const exit = waitTimeout(spawned.pidfd, h.timeout !== undefined ? h.timeout * 1000 : -1);
        if (exit === null) {
          native.pidfdSignal(spawned.pidfd, SIGKILL);
          waitTimeout(spawned.pidfd, -1);
          throw failure(kind, i, h, `ran past its timeout of ${h.timeout}s and was killed`, output());
        }
        if (exit.signal !== null) throw failure(kind, i, h, `was killed by signal ${exit.signal}`, output());
        if (exit.code !== 0) throw failure(kind, i, h, `exited with status ${exit.code}`, output());
      } catch (e) {
        try {
          native.pidfdSignal(spawned.pidfd, SIGKILL);
          waitTimeout(spawned.pidfd, 1000);
        } catch {
          // already reaped
        }
        throw e;
      } finally {
        native.closeFd(spawned.pidfd);
        native.closeFd(spawned.syncFd);
      }
    });
  } finally {
    rmSync(input, { force: true });
    rmSync(outPath, { force: true });
  }
}

/**
 * The `start` side of the exec barrier with hook points: connect, run the startContainer hooks when
 * the init stops at its hook point, then learn whether its execve worked, or which op after the barrier
 * failed (a deferred seccomp load, execve itself). A failing hook hangs up, so the init exits without
 * running the user's process.
 */
export function releaseWithHooks(
  path: string,
  onHookPoint: (ns: NamespaceFds) => void,
):
  | { ok: true }
  | { ok: false; step: 'connect'; errno: number }
  | { ok: false; step: 'op'; errno: number; index: number; call: string }
  | { ok: false; step: 'hook'; error: unknown } {
  const fd = startConnect(path);
  if (typeof fd !== 'number') return { ok: false, errno: fd.errno, step: 'connect' };
  try {
    for (;;) {
      const ev = connNext(fd);
      if (ev.type === 'exec') return { ok: true };
      if (ev.type === 'failed') return { ok: false, step: 'op', errno: ev.errno, index: ev.index, call: ev.step };
      try {
        onHookPoint(ev.ns);
      } catch (error) {
        return { ok: false, step: 'hook', error };
      } finally {
        closeNamespaceFds(ev.ns);
      }
      connGo(fd);
    }
  } finally {
    native.closeFd(fd);
  }
}

/**
 * `create`'s hook point (before pivot_root): prestart and createRuntime in the runtime's namespaces,
 * then createContainer inside the container's, all with the state "creating" and the init's pid.
 * The first failure throws (create then stops the container and removes it).
 */
export function runCreateHooks(hooks: Hooks, state: OciState, msg: { nsMask?: number; fds?: number[] }, rootfs: string, scratch: string): void {
  const ns = namespaceFds(msg.nsMask ?? 0, msg.fds ?? []);
  try {
    runHostHooks('prestart', hooks, state);
    runHostHooks('createRuntime', hooks, state);
    runContainerHooks('createContainer', hooks, state, { ns, cwd: rootfs, pid: state.pid, scratch });
  } finally {
    closeNamespaceFds(ns);
  }
}
