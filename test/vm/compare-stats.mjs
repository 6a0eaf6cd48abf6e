// compare-stats.mjs RUNC.json TSRUNC.json: the `events --stats` lines of two containers started alike
// (one by runc, one by tsrunc), compared field for field. Values that differ from one container to the
// next (CPU time, memory in use, memory.stat's counters) are compared by presence and type; Go's
// omitempty may drop a zero one, so they are put back first. Everything else must be equal, in the same
// order. Exit 1 with both normalised documents on a difference (as TAP comments).
import { readFileSync } from 'node:fs';

const [runcFile, tsruncFile] = process.argv.slice(2);

function normalise(file) {
  const event = JSON.parse(readFileSync(file, 'utf8').trim());
  const d = event.data;
  const kind = (v) => (v === undefined ? 'number' : typeof v);
  d.cpu.usage = Object.fromEntries(['total', 'kernel', 'user'].map((k) => [k, kind(d.cpu.usage[k])]).concat(Object.keys(d.cpu.usage).filter((k) => !['total', 'kernel', 'user'].includes(k)).map((k) => [k, 'extra'])));
  const m = d.memory;
  const entry = (e) => ({ ...e, usage: kind(e.usage) });
  const raw = m.raw === undefined ? undefined : Object.fromEntries(Object.entries(m.raw).map(([k, v]) => [k, typeof v]));
  const { cache, usage, swap, raw: _raw, ...rest } = m;
  d.memory = { cache: kind(cache), usage: entry(usage), swap: entry(swap), ...rest, raw };
  return { type: event.type, data: d };
}

const a = JSON.stringify(normalise(runcFile));
const b = JSON.stringify(normalise(tsruncFile));
if (a === b) process.exit(0);
console.log(`# runc:   ${a}\n# tsrunc: ${b}`);
process.exit(1);
