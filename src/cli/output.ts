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

/** Where log lines go: the --log file (when given) and, for warnings and errors, stderr. */
export class Log {
  constructor(
    private readonly file: string | undefined,
    private readonly format: LogFormat,
    readonly debugEnabled: boolean,
  ) {}

  private toFile(level: Level, msg: string): void {
    if (this.file === undefined) return;
    try {
      appendFileSync(this.file, formatLogLine(this.format, level, msg, new Date().toISOString()));
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
    err(`tsrunc: warning: ${msg}\n`);
  }

  debug(msg: string): void {
    if (!this.debugEnabled) return;
    this.toFile('debug', msg);
    if (this.file === undefined) err(`tsrunc: debug: ${msg}\n`);
  }
}
