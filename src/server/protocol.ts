// The records the C front end (helpers/frontend.c, where the conversation is drawn) and the server
// exchange on their SOCK_SEQPACKET connection: little-endian u32 words, then strings.

export const FE_REQUEST = 0x51524654; // "TFRQ": umask, argc, envc; argv, env, cwd (NUL-ended); fds 0, 1, 2
export const FE_EXITED = 0x58454654; // "TFEX": pid, wait status
export const SV_ACCEPT = 0x43415354; // "TSAC"
export const SV_DIRECT = 0x49445354; // "TSDI"
export const SV_HOLD = 0x4f485354; // "TSHO": state root, id (NUL-ended)
export const SV_WAIT = 0x41575354; // "TSWA": pid
export const SV_EXIT = 0x58455354; // "TSEX": exit code

/** A request as the front end sent it. */
export interface Request {
  umask: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Decodes a FE_REQUEST record; undefined when it is not a well-formed one. */
export function decodeRequest(buf: Uint8Array, size: number): Request | undefined {
  if (size < 16) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, size);
  if (view.getUint32(0, true) !== FE_REQUEST) return undefined;
  const argc = view.getUint32(8, true);
  const envc = view.getUint32(12, true);
  const strings = Buffer.from(buf.buffer, buf.byteOffset + 16, size - 16).toString('utf8').split('\0');
  // argc + envc + 1 strings, each NUL-ended: split leaves one empty string after the last NUL.
  if (strings.length !== argc + envc + 2 || strings[strings.length - 1] !== '') return undefined;
  const env: Record<string, string> = {};
  for (const e of strings.slice(argc, argc + envc)) {
    const eq = e.indexOf('=');
    if (eq > 0 && !(e.slice(0, eq) in env)) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const cwd = strings[argc + envc]!;
  if (!cwd.startsWith('/')) return undefined;
  return { umask: view.getUint32(4, true), argv: strings.slice(0, argc), env, cwd };
}

/** A record of u32 words, then NUL-ended strings. */
export function encodeRecord(type: number, words: number[] = [], strings: string[] = []): Uint8Array {
  const text = Buffer.from(strings.map((s) => s + '\0').join(''), 'utf8');
  const buf = new Uint8Array(4 + words.length * 4 + text.length);
  const view = new DataView(buf.buffer);
  view.setUint32(0, type >>> 0, true);
  words.forEach((w, k) => view.setInt32(4 + k * 4, w, true));
  buf.set(text, 4 + words.length * 4);
  return buf;
}

/** A wait status (waitpid's) as an exit: the code, or 128+signal when killed. */
export function exitOfStatus(status: number): { code: number; signal: number | null } {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: 128 + signal, signal };
}
