// The state root: one directory per container holding state.json (written atomically: temp file +
// rename), the start socket and a lock. Reserving an id is an atomic mkdir.
import { mkdirSync, readFileSync, writeFileSync, renameSync, rmSync, rmdirSync, readdirSync, lstatSync, openSync, closeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError, errnoCode } from '../errors.js';
import { stateFileSchema, type StateFile } from '../spec/state-schema.js';

const ID_RE = /^[\w+.-]+$/;

/** runc's id rule: letters, digits, `_ + - .`, not "." or ".."; we also bound the length. */
export function validateId(id: string): void {
  if (id === '') throw new TsruncError('invalid-argument', 'container id cannot be empty');
  if (id.length > 255 || !ID_RE.test(id) || id === '.' || id === '..') {
    throw new TsruncError('invalid-argument', `invalid container id "${id}": use letters, digits, "_", "+", "-" and "." (at most 255)`);
  }
}

export class StateStore {
  /** ensureRoot() passed once: a long-lived store does not check the root before every reserve. */
  #rootChecked = false;

  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Creates the root (0700) if missing and checks that nobody else controls it. */
  ensureRoot(): void {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new TsruncError('host-not-ready', `state root ${this.root}: ${(e as Error).message}`, {
        cause: e,
        hint: 'pass a writable directory with --root',
      });
    }
    const st = lstatSync(this.root);
    const me = process.geteuid?.() ?? 0;
    if (!st.isDirectory() || st.uid !== me) {
      throw new TsruncError('host-not-ready', `state root ${this.root} is not a directory owned by uid ${me}`, {
        hint: 'pass a directory you own with --root',
      });
    }
  }

  /** Atomically claims `id`; a second create of the same id fails here. */
  reserve(id: string): void {
    if (!this.#rootChecked) {
      this.ensureRoot();
      this.#rootChecked = true;
    }
    try {
      mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (e) {
      // The root was removed since it was checked: check (and make) it again.
      if (errnoCode(e) === 'ENOENT' && this.#rootChecked) {
        this.#rootChecked = false;
        return this.reserve(id);
      }
      if (errnoCode(e) === 'EEXIST') throw new TsruncError('exists', `container "${id}" already exists`);
      throw new TsruncError('internal', `state dir for "${id}": ${(e as Error).message}`, { cause: e });
    }
  }

  /** Reads and validates the state file; a missing container is a not-found error. */
  load(id: string): StateFile {
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') {
        throw new TsruncError('not-found', `container "${id}" does not exist`);
      }
      throw new TsruncError('internal', `state of "${id}": ${(e as Error).message}`, { cause: e });
    }
    const parsed = stateFileSchema().safeParse(safeJson(text));
    if (!parsed.success) throw new TsruncError('internal', `state of "${id}" is corrupt: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  }

  /** Writes the state file atomically (a reader never sees half a file). */
  save(state: StateFile): void {
    const dir = this.dir(state.id);
    const tmp = join(dir, `.state.json.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, join(dir, 'state.json'));
  }

  /** Removes a container's directory and everything in it. */
  remove(id: string): void {
    const dir = this.dir(id);
    // The usual content is a few files: unlink them and rmdir, rather than rmSync's walk and retries.
    try {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) rmSync(join(dir, e.name), { recursive: true, force: true });
        else unlinkSync(join(dir, e.name));
      }
      rmdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Ids of every container with a state directory, sorted. */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && ID_RE.test(e.name))
        .map((e) => e.name)
        .sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw new TsruncError('internal', `state root ${this.root}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Path of the start socket, short enough for sun_path through the directory's fd. */
  startSocketName(): string {
    return 'start.sock';
  }

  /** Opens the container directory (for flock, and for /proc/self/fd/N paths). */
  openDir(id: string): number {
    try {
      return openSync(this.dir(id), 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new TsruncError('not-found', `container "${id}" does not exist`);
      throw e;
    }
  }

  closeDir(fd: number): void {
    closeSync(fd);
  }

  /** Removes a file in a container's directory if present. */
  unlinkIn(id: string, name: string): void {
    try {
      unlinkSync(join(this.dir(id), name));
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
