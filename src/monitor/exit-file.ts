// The exit status a container's monitor records (<state dir>/exit.json, written atomically by
// helpers/monitor/main.c), read back with the state file's exit-status schema.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, TsruncError } from '../errors.js';
import { exitStatusSchema, type ExitStatus } from '../spec/state-schema.js';

export const EXIT_FILE = 'exit.json';
/** Held shared by `wait` while it reads exit.json, exclusively by the monitor around its exit step. */
export const WAIT_LOCK = 'wait.lock';

/** The recorded exit status in `stateDir`, or undefined when there is none (yet). */
export function readExitFile(stateDir: string): ExitStatus | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, EXIT_FILE), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw new TsruncError('internal', `${join(stateDir, EXIT_FILE)}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // reported below
  }
  const parsed = exitStatusSchema().safeParse(json);
  if (!parsed.success) throw new TsruncError('internal', `${join(stateDir, EXIT_FILE)} is corrupt: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The code a shell would show for it: the exit code, or 128+signal when a signal killed it. */
export function exitCodeOf(s: ExitStatus): number {
  return s.signal !== null ? 128 + s.signal : (s.code ?? 0);
}
