// What every command shares: the log built from the global flags, and the runtime context.
import { TsruncError } from '../errors.js';
import { Log, type LogFormat } from './output.js';
import { makeContext, type Context } from '../runtime/context.js';
import { splitExecArgs, commandIndex } from './exec-args.js';
import type { CAC } from 'cac';
import { currentCall, type Call } from '../runtime/call.js';

const logs = new WeakMap<Call, Log>();

/** The log of this invocation (run-cli.ts prints the final error through it). */
export function log(): Log {
  return logs.get(currentCall()) ?? new Log(undefined, 'text', false);
}

/** Builds the log from the global flags; a bad --log-format is refused. */
export function setupLog(flags: Record<string, unknown>): Log {
  const format = String(flags.logFormat ?? 'text');
  if (format !== 'text' && format !== 'json') {
    throw new TsruncError('invalid-argument', `--log-format: "${format}" is not one of text, json`);
  }
  const file = typeof flags.log === 'string' && flags.log !== '' ? flags.log : undefined;
  const l = new Log(file, format as LogFormat, flags.debug === true);
  logs.set(currentCall(), l);
  return l;
}

/**
 * cac gives mri the camelCased names of boolean flags, so a dashed one would take the next argument
 * (`--systemd-cgroup run …` made "run" its value): spell it with its value, up to a "--".
 */
export function spellDashedBooleans(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => ((end < 0 || i < end) && a === '--systemd-cgroup' ? '--systemd-cgroup=true' : a));
}

/**
 * Go's flag rule, which runc's command line follows: a flag that takes a value takes the next argument
 * whatever it is, so `update --memory-swap -1 ID` means -1 (mri would read "-1" as a flag of its own).
 * Each such pair (up to a "--") is spelled `flag=value`. `valueFlags` holds the spellings ("--memory",
 * "-m") of the flags of the command and the global ones that require a value.
 */
export function spellFlagValues(argv: string[], valueFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i)];
    const next = argv[i + 1];
    if (valueFlags.has(a) && next !== undefined && next.startsWith('-') && next !== '--') {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** The spellings ("--memory", "-m") of the options that require a value (`<…>` in cac). */
export function valueFlagSpellings(options: readonly { rawName: string; required?: boolean }[]): Set<string> {
  const out = new Set<string>();
  for (const o of options) {
    if (o.required !== true) continue;
    for (const part of o.rawName.split(',')) out.add(part.trim().split(/[\s<[]/)[0]!);
  }
  return out;
}

/** argv as cac must see it to read it as runc does (exec's command, dashed booleans, Go's flag values). */
export function prepareArgv(cli: CAC, argv: string[]): string[] {
  const split = splitExecArgs(argv);
  const command = cli.commands.find((c) => c.isMatched(split[commandIndex(split)] ?? ''));
  const valueFlags = valueFlagSpellings([...cli.globalCommand.options, ...(command?.options ?? [])]);
  return spellFlagValues(spellDashedBooleans(split), valueFlags);
}

/** The runtime context for the global flags (--root, --rootless). */
export function context(flags: Record<string, unknown>): Context {
  // `--rootless` alone (cac gives true) means rootless, as `--rootless true` does.
  const mode = flags.rootless === true ? 'true' : String(flags.rootless ?? 'auto');
  if (mode !== 'auto' && mode !== 'true' && mode !== 'false') {
    throw new TsruncError('invalid-argument', `--rootless: "${mode}" is not one of auto, true, false`);
  }
  const l = log();
  const call = currentCall();
  return makeContext({
    env: call.env,
    cwd: call.cwd,
    ...(call.spawner !== undefined ? { callerSpawner: call.spawner } : {}),
    root: typeof flags.root === 'string' ? flags.root : undefined,
    rootless: mode,
    systemdCgroup: flags.systemdCgroup === true || flags.systemdCgroup === 'true',
    logger: { warn: (m) => l.warn(m), debug: (m) => l.debug(m) },
  });
}

/** The single container id a command takes, checked for extra arguments. */
export function oneId(args: string[], command: string, extra = 0): string {
  if (args.length === 0 || args[0] === '') throw new TsruncError('invalid-argument', `${command}: missing container id`);
  if (args.length > 1 + extra) throw new TsruncError('invalid-argument', `${command}: unexpected argument "${args[1 + extra]}"`);
  return args[0]!;
}

/** A non-negative integer flag such as --preserve-fds. */
export function intFlag(flags: Record<string, unknown>, name: string, flag: string): number {
  const v = flags[name];
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new TsruncError('invalid-argument', `${flag}: "${String(v)}" is not a non-negative integer`);
  return n;
}

/** Flags the runtime does not implement yet are refused, never ignored. */
export function refuse(flags: Record<string, unknown>, name: string, flag: string, why: string): void {
  const v = flags[name];
  if (v !== undefined && v !== false && v !== '') throw new TsruncError('not-supported', `${flag}: ${why}`);
}
