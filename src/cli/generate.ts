// tsrunc generate systemd --bundle DIR NAME [--install] [--type notify|exec] [--restart POLICY]: the unit
// that runs one bundle as a systemd service. Printed, or with --install written to the user's unit
// directory (the system's as root) followed by daemon-reload.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { TsruncError } from '../errors.js';
import { validateId } from '../runtime/state-store.js';
import { RESTART_POLICIES, UNIT_TYPES, renderUnit, unitFileName, type UnitOptions } from '../linux/systemd-unit.js';
import { err, out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const [what, name, extra] = args;
  if (what !== 'systemd') throw new TsruncError('invalid-argument', `generate: unknown target "${what ?? ''}" (only "systemd")`);
  if (name === undefined) throw new TsruncError('invalid-argument', 'generate systemd: missing the container name (tsrunc generate systemd --bundle DIR NAME)');
  if (extra !== undefined) throw new TsruncError('invalid-argument', `generate systemd: unexpected argument "${extra}"`);
  validateId(name);
  const type = String(flags.type ?? 'notify');
  if (!(UNIT_TYPES as readonly string[]).includes(type)) throw new TsruncError('invalid-argument', `--type: "${type}" is not one of ${UNIT_TYPES.join(', ')}`);
  const restart = String(flags.restart ?? 'on-failure');
  if (!(RESTART_POLICIES as readonly string[]).includes(restart)) {
    throw new TsruncError('invalid-argument', `--restart: "${restart}" is not one of ${RESTART_POLICIES.join(', ')}`);
  }
  const bundle = resolve(String(flags.bundle ?? '.'));
  if (!existsSync(join(bundle, 'config.json'))) throw new TsruncError('not-found', `--bundle: ${join(bundle, 'config.json')}: no such file`);
  const scope = process.geteuid?.() === 0 ? 'system' : 'user';
  const opts: UnitOptions = {
    name,
    bundle: realpathSync(bundle),
    tsrunc: tsruncCommand(),
    type: type as UnitOptions['type'],
    restart: restart as UnitOptions['restart'],
    scope,
    ...(typeof flags.root === 'string' && flags.root !== '' ? { root: resolve(flags.root) } : {}),
  };
  const text = renderUnit(opts);
  if (flags.install !== true) {
    out(text);
    return 0;
  }
  const dir = scope === 'system' ? '/etc/systemd/system' : join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, unitFileName(name));
  writeFileSync(path, text, { mode: 0o644 });
  const systemctl = scope === 'system' ? ['daemon-reload'] : ['--user', 'daemon-reload'];
  const r = spawnSync('systemctl', systemctl, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit status ${r.status}`).trim().split('\n')[0];
    // The doctor's bus and runtime-directory checks say what is missing and how to fix it.
    const { hintForFailure } = await import('../linux/doctor/index.js');
    const hint = scope === 'user' ? (await hintForFailure(new Error('systemd user bus'))) ?? 'a user manager must run: see tsrunc doctor' : undefined;
    throw new TsruncError('host-not-ready', `wrote ${path}, but systemctl ${systemctl.join(' ')} failed: ${why}`, { hint });
  }
  const ctl = scope === 'system' ? 'systemctl' : 'systemctl --user';
  err(`tsrunc: installed ${path}; start it with: ${ctl} start ${unitFileName(name)}\n`);
  return 0;
}

/** How the unit starts this very tsrunc: node by absolute path, then the CLI script (no PATH needed). */
function tsruncCommand(): string[] {
  const script = process.argv[1];
  if (script === undefined || script === '') return ['tsrunc'];
  return [process.execPath, realpathSync(script)];
}
