// tsrunc events [--stats] [--interval 5s] <id>: runc's JSON events, one object a line. --stats prints
// the statistics once; otherwise stats every interval and an {"type":"oom"} line whenever the kernel
// OOM-kills a process of the container, until the container is gone.
import { TsruncError } from '../errors.js';
import { context, oneId } from './common.js';
import { eventsTarget, readStats, oomKills, cgroupAlive } from '../runtime/cgroup-ops.js';
import { goJson } from '../linux/cgroups/stats.js';
import { isSameLiveProcess } from '../linux/proc.js';
import { out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'events');
  const intervalMs = parseDuration(String(flags.interval ?? '5s'));
  const { state, dir } = eventsTarget(context(flags), id);
  const emit = (type: string, data?: ReturnType<typeof readStats>) => out(goJson(data === undefined ? { type, id } : { type, id, data }) + '\n');
  if (flags.stats === true) {
    emit('stats', readStats(dir));
    return 0;
  }
  let ooms = oomKills(dir);
  let nextStats = 0;
  const tick = Math.min(intervalMs, 100);
  for (let now = 0; ; now += tick) {
    if (!cgroupAlive(dir) || !isSameLiveProcess(state.pid, state.pidStartTime)) {
      // a last look: an OOM kill of the init itself ends the container
      if (oomKills(dir) > ooms) emit('oom');
      return 0;
    }
    const n = oomKills(dir);
    if (n > ooms) emit('oom');
    ooms = n;
    if (now >= nextStats) {
      emit('stats', readStats(dir));
      nextStats = now + intervalMs;
    }
    await new Promise((r) => setTimeout(r, tick));
  }
}

/** Go's time.ParseDuration for what people write: "5s", "500ms", "1m30s", "2h". */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (m === null) break;
    total += Number(m[1]) * units[m[2]!]!;
    i = re.lastIndex;
  }
  if (text === '' || i !== text.length || total <= 0) throw new TsruncError('invalid-argument', `--interval: "${text}" is not a positive duration such as 5s or 500ms`);
  return total;
}
