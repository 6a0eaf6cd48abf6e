// tsrunc spec [--rootless] [--bundle DIR]: write a config.json that runs as generated.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError } from '../errors.js';
import { defaultSpec } from '../spec/default-spec.js';
import { toRootless } from '../spec/rootless.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  if (args.length > 0) throw new TsruncError('invalid-argument', `spec: unexpected argument "${args[0]}"`);
  const bundle = String(flags.bundle ?? '.');
  if (!existsSync(bundle)) throw new TsruncError('not-found', `--bundle: ${bundle}: no such directory`);
  const path = join(bundle, 'config.json');
  if (existsSync(path)) throw new TsruncError('exists', `${path} exists: remove it first`);
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  const spec = flags.rootless === true ? toRootless(defaultSpec(), { uid, gid }) : defaultSpec();
  writeFileSync(path, JSON.stringify(spec, null, '\t') + '\n', { flag: 'wx', mode: 0o644 });
  return 0;
}
