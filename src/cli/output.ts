// Writing to the terminal and the --log file. Synchronous writes on the raw fds: Node's process.stdout
// would switch a shared pipe to non-blocking mode under the container that inherits it.
import { writeSync, appendFileSync } from 'node:fs';
import { currentCall } from '../runtime/call.js';

/** Writes to the caller's stdout (fd 1 of the CLI; the front end's, passed along, in the server). */
export function out(text: string): void {
  writeAll(currentCall().stdout, text);
}

export function err(text: string): void {
  writeAll(currentCall().stderr, text);
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return; // a closed stdout/stderr is not worth dying for
    }
  }
}

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

/**
 * runc-style log lines (logrus): JSON `{"level","msg","time",…fields}` or text `time=… level=… msg=…
 * key=value…`. containerd's shim decodes every line of its log.json and reports the last "error" msg.
 */
export function formatLogLine(format: LogFormat, level: Level, msg: string, time: string, fields: Record<string, unknown> = {}): string {
  if (format === 'json') return JSON.stringify({ level, msg, time, ...fields }) + '\n';
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}${textFields(fields)}\n`;
}

/** Now in RFC 3339 to the second, as logrus stamps runc's lines. */
function logTime(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** logrus' text form of extra fields: ` key=value…`. */
function textFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => ` ${k}=${JSON.stringify(v)}`)
    .join('');
}

/**
 * Where log lines go, as runc's logrus sends them: errors to the --log file (when given) and stderr;
 * warnings and debug lines to the --log file, or to stderr when there is none. Engines give the
 * runtime the container's own stdio, so a warning on stderr would land in the container's log.
 */
export class Log {
  constructor(
    private readonly file: string | undefined,
    private readonly format: LogFormat,
    readonly debugEnabled: boolean,
  ) {}

  private toFile(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (this.file === undefined) return;
    try {
      appendFileSync(this.file, formatLogLine(this.format, level, msg, logTime(), fields));
    } catch {
      // the log is best effort; the error still reaches stderr
    }
  }

  error(msg: string): void {
    this.toFile('error', msg);
    err(`tsrunc: ${msg}\n`);
  }

  warn(msg: string): void {
    this.toFile('warning', msg);
    if (this.file === undefined) err(`tsrunc: warning: ${msg}\n`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (!this.debugEnabled) return;
    if (this.file !== undefined) this.toFile('debug', msg, fields);
    else if (this.format === 'json') err(formatLogLine('json', 'debug', msg, logTime(), fields));
    else err(`tsrunc: debug: ${msg}${textFields(fields ?? {})}\n`);
  }
}
