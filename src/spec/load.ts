// Reads <bundle>/config.json: a lossless JSON parse, then the zod schema; a bad file becomes one line
// naming the field as a JSON pointer ("config.json: /process/args: must be a non-empty array of strings").
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError, errnoCode } from '../errors.js';
import { configSchema, issueProblem, type Config } from './schema.js';

const FILE = 'config.json';

/**
 * Loads and type-checks `<bundleDir>/config.json`. Throws TsruncError 'not-found' when the bundle or
 * its config.json is missing, 'invalid-config' when the file is not valid JSON or not a valid config.
 * Semantic checks (absolute paths, namespaces…) are validate.ts's job.
 */
export function loadConfig(bundleDir: string, cache?: ConfigCache): Config {
  let isDir: boolean;
  try {
    isDir = statSync(bundleDir).isDirectory();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new TsruncError('not-found', `bundle ${bundleDir}: no such directory`, { cause: e });
    throw new TsruncError('invalid-config', `bundle ${bundleDir}: ${describeFsError(e)}`, { cause: e });
  }
  if (!isDir) throw new TsruncError('not-found', `bundle ${bundleDir}: not a directory`);
  const path = join(bundleDir, FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new TsruncError('not-found', `bundle ${bundleDir}: no ${FILE}`, { cause: e });
    if (code === 'EISDIR') throw new TsruncError('invalid-config', `bundle ${bundleDir}: ${FILE} is a directory`, { cause: e });
    throw new TsruncError('invalid-config', `${path}: ${describeFsError(e)}`, { cause: e });
  }
  if (cache === undefined) return parseConfigText(text);
  // The same text parses to the same config: a copy of the cached one (callers may change theirs).
  const hit = cache.get(path);
  if (hit !== undefined && hit.text === text) return structuredClone(hit.config);
  const config = parseConfigText(text);
  if (cache.size >= CONFIG_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(path, { text, config: structuredClone(config) });
  return config;
}

/** Parsed configs by path, with the text they came from (a Runtime creates many containers from one bundle). */
export type ConfigCache = Map<string, { text: string; config: Config }>;
const CONFIG_CACHE_SIZE = 64;

/** Parses config.json text (JSON syntax, then schema). `file` names it in error messages. */
export function parseConfigText(text: string, file = FILE): Config {
  const depth = nestingDepth(text);
  if (depth > MAX_DEPTH) {
    // Deeper documents overflow the stack of the recursive steps after the parse (reviver, schema).
    throw new TsruncError('invalid-config', `${file}: nested deeper than ${MAX_DEPTH} levels (${depth})`);
  }
  let value: unknown;
  try {
    value = parseJsonLossless(text, { dropNulls: true });
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw new TsruncError('invalid-config', `${file}: invalid JSON at line ${e.line}, column ${e.column}: ${e.reason}`, { cause: e });
    }
    throw e;
  }
  return parseConfig(value, file);
}

/**
 * Type-checks an already parsed config. Properties whose value is null should have been dropped
 * (parseJsonLossless's dropNulls), as Go's decoder treats null as "not set".
 */
export function parseConfig(value: unknown, file = FILE): Config {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TsruncError('invalid-config', `${file}: must be a JSON object`);
  }
  const result = configSchema().safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const problem = issue === undefined ? { pointer: '', message: 'invalid' } : issueProblem(issue);
  throw new TsruncError('invalid-config', `${file}: ${problem.pointer || '/'}: ${problem.message}`, { cause: result.error });
}

/** An OCI config is a few levels deep; Go's decoder stops at 10000, we at far less. */
const MAX_DEPTH = 512;

/** The deepest nesting of [ and { in JSON text, strings skipped (a cheap scan before parsing). */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) max = depth;
    } else if (ch === 0x5d || ch === 0x7d) {
      depth--;
    }
  }
  return max;
}

/** A JSON syntax error with its 1-based line and column. */
export class JsonSyntaxError extends SyntaxError {
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(reason: string, line: number, column: number) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'JsonSyntaxError';
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}

/**
 * JSON.parse that keeps every integer exact: an integer literal a double cannot hold (beyond ±2^53,
 * e.g. RLIM_INFINITY 18446744073709551615) becomes a bigint. With `dropNulls`, object properties
 * whose value is null are left out (array elements are kept). Throws JsonSyntaxError.
 */
export function parseJsonLossless(text: string, opts: { dropNulls?: boolean } = {}): unknown {
  const dropNulls = opts.dropNulls === true;
  const nullReviver = dropNulls
    ? function (this: unknown, _key: string, value: unknown) {
        return value === null && !Array.isArray(this) ? undefined : value;
      }
    : undefined;
  let value: unknown;
  try {
    value = JSON.parse(text, nullReviver);
  } catch (e) {
    if (e instanceof SyntaxError) throw syntaxError(text, e);
    throw e;
  }
  const big = unsafeIntegers(text);
  if (big.length === 0) return value;

  // Rare path: swap each unsafe integer for a string sentinel, parse again, and turn those back into
  // bigints. The nonce keeps a config string from ever being mistaken for a sentinel.
  const prefix = `\u0000${Math.random().toString(36).slice(2)}:`;
  let rewritten = '';
  let at = 0;
  for (const { start, end } of big) {
    rewritten += text.slice(at, start) + JSON.stringify(prefix + text.slice(start, end));
    at = end;
  }
  rewritten += text.slice(at);
  return JSON.parse(rewritten, function (this: unknown, key: string, v: unknown) {
    if (typeof v === 'string' && v.startsWith(prefix)) return BigInt(v.slice(prefix.length));
    return nullReviver === undefined ? v : nullReviver.call(this, key, v);
  });
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** Offsets of the integer literals (outside strings) that a double cannot represent exactly. */
function unsafeIntegers(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c /* \ */ ? 2 : 1;
      i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) {
        i++;
        continue;
      }
      const isInteger = m[1] === undefined && m[2] === undefined;
      // Up to 15 digits always fit; longer ones are checked.
      if (isInteger && m[0].replace('-', '').length > 15 && !Number.isSafeInteger(Number(m[0]))) out.push({ start: i, end: i + m[0].length });
      i += m[0].length;
    } else {
      i++;
    }
  }
  return out;
}

/**
 * Where and why `text` is not JSON. V8's messages do not always carry a position ("Unexpected token
 * '}', … is not valid JSON"), so a small scanner finds the first error itself.
 */
function syntaxError(text: string, e: SyntaxError): JsonSyntaxError {
  let found: { pos: number; reason: string } | null;
  try {
    found = new JsonScanner(text).firstError();
  } catch {
    found = null; // nesting too deep for the scanner's recursion
  }
  const pos = found?.pos ?? 0;
  const reason = found?.reason ?? e.message;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return new JsonSyntaxError(reason, line, pos - lineStart + 1);
}

class JsonScanner {
  private i = 0;
  constructor(private readonly s: string) {}

  /** The first syntax error, or null when the text is valid JSON. */
  firstError(): { pos: number; reason: string } | null {
    try {
      this.value();
      this.ws();
      if (this.i < this.s.length) this.fail('unexpected text after the end of the JSON value');
      return null;
    } catch (e) {
      if (e instanceof ScanError) return { pos: e.pos, reason: e.reason };
      throw e;
    }
  }

  private fail(reason: string, pos = this.i): never {
    throw new ScanError(pos, reason);
  }

  private found(): string {
    if (this.i >= this.s.length) return 'found the end of the file';
    const word = /^[A-Za-z0-9_.+-]+/.exec(this.s.slice(this.i, this.i + 20));
    return `found ${JSON.stringify(word !== null ? word[0] : this.s[this.i])}`;
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  private expect(ch: string, what: string): void {
    this.ws();
    if (this.s[this.i] !== ch) this.fail(`expected ${what}, ${this.found()}`);
    this.i++;
  }

  private value(): void {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    if (c === "'") this.fail('strings must use double quotes');
    this.fail(`expected a value, ${this.found()}`);
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail(`expected a property name in double quotes, ${this.found()}`);
      this.string();
      this.expect(':', '":" after the property name');
      this.value();
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === '}') {
        this.i++;
        return;
      }
      this.fail(`expected "," or "}", ${this.found()}`);
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.s[this.i] === ']') {
        this.i++;
        return;
      }
      this.fail(`expected "," or "]", ${this.found()}`);
    }
  }

  private string(): void {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        this.i++;
        return;
      }
      if (c < 0x20) this.fail('control character in a string (escape it, e.g. \\n)');
      if (c === 0x5c) {
        const e = this.s[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) this.fail('bad \\u escape in a string');
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`bad escape "\\${e ?? ''}" in a string`);
        this.i += 2;
        continue;
      }
      this.i++;
    }
    this.fail('unterminated string', start);
  }

  private number(): void {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) this.fail(`invalid number, ${this.found()}`);
    // "01", "1.", "1e": the number regexp stopped early on something that continues the token.
    if (/^[0-9.eE+-]/.test(this.s[this.i + m[0].length] ?? '')) this.fail(`invalid number, ${this.found()}`);
    this.i += m[0].length;
  }
}

class ScanError {
  constructor(
    readonly pos: number,
    readonly reason: string,
  ) {}
}

function describeFsError(e: unknown): string {
  const code = errnoCode(e);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  return e instanceof Error ? e.message : String(e);
}
