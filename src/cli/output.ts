// Writing to the terminal and the --log file. Synchronous writes on the raw fds: Node's process.stdout
// would switch a shared pipe to non-blocking mode under the container that inherits it.
import { writeSync, appendFileSync } from 'node:fs';

export function out(text: string): void {
  writeAll(1, text);
}

export function err(text: string): void {
  writeAll(2, text);
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

/** runc-style log lines (logrus): JSON `{"level","msg","time"}` or text `time=… level=… msg=…`. */
export function formatLogLine(format: LogFormat, level: Level, msg: string, time: string): string {
  if (format === 'json') return JSON.stringify({ level, msg, time }) + '\n';
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
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

  private toFile(level: Level, msg: string): void {
    if (this.file === undefined) return;
    try {
      // RFC 3339 to the second, as logrus stamps runc's lines.
      appendFileSync(this.file, formatLogLine(this.format, level, msg, new Date().toISOString().replace(/\.\d+Z$/, 'Z')));
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

  debug(msg: string): void {
    if (!this.debugEnabled) return;
    this.toFile('debug', msg);
    if (this.file === undefined) err(`tsrunc: debug: ${msg}\n`);
  }
}
