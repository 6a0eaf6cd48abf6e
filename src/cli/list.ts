// tsrunc list [--format table|json] [-q]: runc's table (tabwriter, min width 12, padding 3) or JSON.
import { TsruncError } from '../errors.js';
import { context } from './common.js';
import { listContainers } from '../runtime/query.js';
import { out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  if (args.length > 0) throw new TsruncError('invalid-argument', `list: unexpected argument "${args[0]}"`);
  const format = String(flags.format ?? 'table');
  if (format !== 'table' && format !== 'json') throw new TsruncError('invalid-argument', `--format: "${format}" is not one of table, json`);
  const all = listContainers(context(flags));
  if (flags.quiet === true) {
    out(all.map((c) => c.id + '\n').join(''));
  } else if (format === 'json') {
    const rows = all.map(({ ociVersion, id, pid, status, bundle, rootfs, created, ownerName, annotations, exitStatus }) => ({
      ociVersion, id, pid, status, bundle, rootfs, created, owner: ownerName, ...(annotations ? { annotations } : {}), ...(exitStatus ? { exitStatus } : {}),
    }));
    out(JSON.stringify(rows.length === 0 ? null : rows) + '\n');
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...all.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, c.ownerName])];
    out(table(rows));
  }
  return 0;
}

/** Go's tabwriter with minwidth 12 and padding 3; the last column is not padded. */
export function table(rows: string[][]): string {
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols - 1 }, (_, i) => Math.max(12, ...rows.map((r) => (r[i]?.length ?? 0) + 3)));
  return rows.map((r) => r.map((cell, i) => (i < cols - 1 ? cell.padEnd(widths[i]!) : cell)).join('') + '\n').join('');
}
