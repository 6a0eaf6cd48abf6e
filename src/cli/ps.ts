// tsrunc ps [--format table|json] <id> [ps options]: the processes of the container's cgroup. As runc
// does, `table` runs ps(1) (default options -ef) and keeps its header and the container's rows; `json`
// prints the pids. ps options come after the id, or after `--`.
import { spawnSync } from 'node:child_process';
import { TsruncError } from '../errors.js';
import { context } from './common.js';
import { containerPids } from '../runtime/cgroup-ops.js';
import { out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = args[0];
  if (id === undefined || id === '') throw new TsruncError('invalid-argument', 'ps: missing container id');
  const format = String(flags.format ?? 'table');
  if (format !== 'table' && format !== 'json') throw new TsruncError('invalid-argument', `--format: "${format}" is not one of table, json`);
  const pids = containerPids(context(flags), id);
  if (format === 'json') {
    out(JSON.stringify(pids) + '\n');
    return 0;
  }
  const psArgs = psOptions(id, args, flags);
  const r = spawnSync('ps', psArgs.length > 0 ? psArgs : ['-ef'], { encoding: 'utf8' });
  if (r.error !== undefined) throw new TsruncError('host-not-ready', `ps: ${r.error.message}`, { hint: 'install procps' });
  if (r.status !== 0) throw new TsruncError('invalid-argument', `ps ${psArgs.join(' ')}: ${(r.stderr || '').trim() || `exit ${r.status}`}`);
  out(filterPsOutput(r.stdout, pids));
  return 0;
}

/** The ps(1) options: after `--`, else whatever follows the id on the command line (cac drops dashes). */
function psOptions(id: string, args: string[], flags: Record<string, unknown>): string[] {
  const dashed = flags['--'];
  if (Array.isArray(dashed) && dashed.length > 0) return dashed.map(String);
  const argv = process.argv;
  const at = argv.lastIndexOf(id);
  if (at >= 0 && at < argv.length - 1) return argv.slice(at + 1).filter((a) => a !== '--');
  return args.slice(1);
}

/** runc's filter: the header, then the lines whose PID column holds one of `pids`. */
export function filterPsOutput(text: string, pids: number[]): string {
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw new TsruncError('invalid-argument', 'ps: its output has no PID column (use options that print one)');
  const want = new Set(pids.map(String));
  const rows = lines.slice(1).filter((l) => l.trim() !== '' && want.has(l.trim().split(/\s+/)[col] ?? ''));
  return [header, ...rows].join('\n') + '\n';
}
