// tsrunc spec [--rootless [--mappings auto|single]] [--bundle DIR]: write a config.json that runs as
// generated. Rootless, `auto` maps container 0 to you and 1… to your subordinate ranges when you have
// them and newuidmap/newgidmap are installed; `single` maps only your own ID (runc's choice).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError } from '../errors.js';
import { defaultSpec } from '../spec/default-spec.js';
import { toRootless } from '../spec/rootless.js';
import { err } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  if (args.length > 0) throw new TsruncError('invalid-argument', `spec: unexpected argument "${args[0]}"`);
  const bundle = String(flags.bundle ?? '.');
  if (!existsSync(bundle)) throw new TsruncError('not-found', `--bundle: ${bundle}: no such directory`);
  const mode = String(flags.mappings ?? 'auto');
  if (mode !== 'auto' && mode !== 'single') throw new TsruncError('invalid-argument', `--mappings: "${mode}" is not one of auto, single`);
  const path = join(bundle, 'config.json');
  if (existsSync(path)) throw new TsruncError('exists', `${path} exists: remove it first`);
  const spec = flags.rootless === true ? await rootlessSpec(mode) : defaultSpec();
  writeFileSync(path, JSON.stringify(spec, null, '\t') + '\n', { flag: 'wx', mode: 0o644 });
  return 0;
}

async function rootlessSpec(mode: 'auto' | 'single') {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  if (mode === 'single') return toRootless(defaultSpec(), { uid, gid });
  const { planIdMaps, findMapHelpers } = await import('../linux/id-maps.js');
  const { readSubIds } = await import('../linux/subid.js');
  const { userName } = await import('../linux/host.js');
  const name = userName(uid);
  const plan = planIdMaps({}, { uid: 0, gid: 0 }, {
    rootless: true,
    uid,
    gid,
    subUids: readSubIds('uid', name, uid),
    subGids: readSubIds('gid', name, uid),
    helpers: findMapHelpers(process.env.PATH),
  });
  // The same advice create would give, said once here where the mappings are written down.
  if (plan.notice !== undefined) err(`tsrunc: ${plan.notice}\n`);
  return toRootless(defaultSpec(), { uid, gid }, { uid: plan.uid, gid: plan.gid });
}
