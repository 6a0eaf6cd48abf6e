// `tsrunc doctor`'s checks in report order, the text and JSON renderings of their verdicts, and the
// bridge other commands use to turn a failure into the matching fix. Pure apart from hintForFailure.
import { checkControllers, checkCgroupMode, checkOwnCgroup } from './cgroups.js';
import { checkKernel, checkLibseccomp, checkNativeLibrary, checkNested } from './kernel.js';
import { checkBus, checkLinger, checkRuntimeDir } from './session.js';
import { checkMapHelper, checkSubIds, checkUserNamespaces } from './userns.js';
import { TsruncError } from '../../errors.js';
import type { FactGroup } from './facts.js';
import type { CheckId, DoctorFacts, Status, Verdict } from './types.js';

export type { CheckId, DoctorFacts, Status, Verdict } from './types.js';

/** Every check, in the order the report prints them. */
export function runChecks(f: DoctorFacts): Verdict[] {
  return [
    checkUserNamespaces(f),
    checkMapHelper(f, 'newuidmap'),
    checkMapHelper(f, 'newgidmap'),
    checkSubIds(f, 'subuid'),
    checkSubIds(f, 'subgid'),
    checkRuntimeDir(f),
    checkBus(f),
    checkLinger(f),
    checkCgroupMode(f),
    checkOwnCgroup(f),
    checkControllers(f),
    ...checkKernel(f),
    checkNativeLibrary(f),
    checkLibseccomp(f),
    checkNested(f),
  ];
}

/** 0 when no check reports a problem, 1 otherwise (warnings do not fail). */
export function exitStatus(verdicts: Verdict[]): number {
  return verdicts.some((v) => v.status === 'problem') ? 1 : 0;
}

/** One aligned line per check: status, title, detail, and "fix: …" for warnings and problems. */
export function formatText(verdicts: Verdict[]): string {
  const sw = Math.max(...verdicts.map((v) => v.status.length));
  const tw = Math.max(...verdicts.map((v) => v.title.length));
  const lines = verdicts.map((v) => `${v.status.padEnd(sw)}  ${v.title.padEnd(tw)}  ${v.detail}${v.fix !== undefined ? ` — fix: ${v.fix}` : ''}`);
  const count = (s: Status) => verdicts.filter((v) => v.status === s).length;
  const problems = count('problem');
  const warnings = count('warning');
  lines.push(problems === 0 && warnings === 0 ? 'ready: no problem found'
    : `${problems === 0 ? 'ready' : 'not ready'}: ${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return lines.join('\n') + '\n';
}

/** `--format json`: { ready, problems, warnings, checks: [{ id, title, status, detail, fix? }] }. */
export function formatJson(verdicts: Verdict[]): string {
  return JSON.stringify({
    ready: exitStatus(verdicts) === 0,
    problems: verdicts.filter((v) => v.status === 'problem').length,
    warnings: verdicts.filter((v) => v.status === 'warning').length,
    checks: verdicts,
  }, null, 2) + '\n';
}

/** Which checks can explain a failure, judged by its message (the one line the CLI prints). */
export function checksForFailure(message: string): CheckId[] {
  const m = message.toLowerCase();
  const ids: CheckId[] = [];
  if (/user namespace|userns|clone3/.test(m)) ids.push('userns', 'nested');
  if (/newuidmap|newgidmap|uid_map|gid_map|mapping|subordinate|subuid|subgid/.test(m)) ids.push('newuidmap', 'newgidmap', 'subuid', 'subgid');
  if (/xdg_runtime_dir|state root|runtime dir/.test(m)) ids.push('runtime-dir');
  if (/bus|systemd|scope/.test(m)) ids.push('runtime-dir', 'user-bus');
  if (/cgroup|controller|subtree_control/.test(m)) ids.push('cgroup-mode', 'own-cgroup', 'controllers');
  if (/seccomp/.test(m)) ids.push('libseccomp');
  if (/libtsrunc/.test(m)) ids.push('native-library');
  if (/enosys|function not implemented/.test(m)) ids.push('pidfd_open', 'clone3', 'close_range', 'openat2', 'mount_setattr', 'time-namespace');
  return [...new Set(ids)];
}

/**
 * "detail; fix: …" of the first of `ids` (in their order) whose check reports a problem, else (unless
 * `problemsOnly`) a warning.
 */
export function pickHint(verdicts: Verdict[], ids: CheckId[], problemsOnly = false): string | undefined {
  const relevant = ids.map((id) => verdicts.find((v) => v.id === id)).filter((v): v is Verdict => v !== undefined && v.fix !== undefined);
  const v = relevant.find((x) => x.status === 'problem') ?? (problemsOnly ? undefined : relevant.find((x) => x.status === 'warning'));
  return v === undefined ? undefined : `${v.detail}; fix: ${v.fix}`;
}

function groupsFor(ids: CheckId[]): FactGroup[] {
  const groups = new Set<FactGroup>();
  for (const id of ids) {
    if (['userns', 'newuidmap', 'newgidmap', 'subuid', 'subgid'].includes(id)) groups.add('userns');
    else if (['runtime-dir', 'user-bus', 'linger'].includes(id)) groups.add('session');
    else if (['cgroup-mode', 'own-cgroup', 'controllers'].includes(id)) groups.add('cgroups');
    else groups.add('kernel');
  }
  return [...groups];
}

/**
 * For a command that failed: the doctor's diagnosis and fix for `e` ("detail: fix"), or undefined when
 * no check explains it. Gathers only the facts the matching checks need (this touches the host).
 */
export async function hintForFailure(e: unknown, env: NodeJS.ProcessEnv = process.env, problemsOnly = false): Promise<string | undefined> {
  const message = e instanceof Error ? e.message : String(e);
  const ids = checksForFailure(message);
  if (ids.length === 0) return undefined;
  const { gatherFacts } = await import('./facts.js');
  return pickHint(runChecks(await gatherFacts(env, groupsFor(ids))), ids, problemsOnly);
}

/** The failures worth a diagnosis: the host's, the init's and the cgroups', when they carry no hint. */
export function wantsDiagnosis(e: unknown): e is TsruncError {
  return e instanceof TsruncError && e.hint === undefined && (['host-not-ready', 'init-failed', 'cgroup'] as string[]).includes(e.code);
}

/**
 * For cli/main: the doctor's fix for a failure that has no hint of its own, when one of the matching
 * checks reports a problem (warnings stay out of error lines). Never throws; gives up after 3 s.
 */
export async function diagnose(e: unknown, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (!wantsDiagnosis(e)) return undefined;
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000).unref());
  return Promise.race([hintForFailure(e, env, true).catch(() => undefined), timeout]);
}
