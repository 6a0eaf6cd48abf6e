// The container log the monitor writes with `run -d --output` (CRI's format: one record per line,
// "<RFC 3339 time> <stdout|stderr> <F|P> <text>", P when the line goes on in the next record), parsed
// back for `tsrunc logs`. Pure.

export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  /** The text, with the newline the record ended in when it was a full line (F). */
  text: string;
}

const RECORD = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s;

/**
 * The records in `chunk` (text read from the log), and what is left of an unfinished last line (to
 * prepend to the next chunk). A line that is not a record is passed on as stdout text.
 */
export function parseLog(chunk: string): { records: LogRecord[]; rest: string } {
  const lines = chunk.split('\n');
  const rest = lines.pop() ?? '';
  const records = lines.map((line): LogRecord => {
    const m = RECORD.exec(line);
    if (m === null) return { time: '', stream: 'stdout', text: line + '\n' };
    return { time: m[1]!, stream: m[2] as 'stdout' | 'stderr', text: m[3] === 'F' ? m[4]! + '\n' : m[4]! };
  });
  return { records, rest };
}
