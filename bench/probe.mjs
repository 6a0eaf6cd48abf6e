// A preload for timing the tsrunc CLI without changing it:
//   TSRUNC_PROBE=/tmp/probe.jsonl node --import ./bench/probe.mjs dist/tsrunc.js run …
// appends one JSON line per process: marks in ms since the process started (performance.timeOrigin),
// taken from wrappers around CommonJS loads (koffi, dbus-next), reads of config.json, the child
// processes tsrunc runs (newuidmap/newgidmap), and process.exit; plus Node's own bootstrap timings.
import Module, { syncBuiltinESMExports } from 'node:module';
import fs from 'node:fs';
import cp from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const out = process.env.TSRUNC_PROBE;
const marks = [];
const mark = (name) => marks.push([name, +performance.now().toFixed(2)]);
mark('preload');
const lastArg = process.argv[process.argv.length - 1];

// CommonJS loads: koffi (createRequire) and dbus-next are the heavy ones. Only top-level loads are
// marked (a module's own requires are inside its time).
let depth = 0;
const load = Module._load;
Module._load = function (request, ...rest) {
  const top = depth === 0 && !request.startsWith('node:') && !Module.isBuiltin(request);
  if (top) mark(`require ${request.replace(/^.*node_modules\//, '')} start`);
  depth++;
  try {
    return load.call(this, request, ...rest);
  } finally {
    depth--;
    if (top) mark(`require ${request.replace(/^.*node_modules\//, '')} end`);
  }
};

const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  const p = String(path);
  const hit = p.endsWith('/config.json') || p.endsWith('state.json');
  if (hit) mark(`read ${p.split('/').pop()}`);
  return readFileSync.call(this, path, ...rest);
};
// State writes, the reservation, id map writes and removal: marked by file name.
for (const name of ['mkdirSync', 'writeFileSync', 'renameSync', 'rmSync', 'openSync']) {
  const orig = fs[name];
  fs[name] = function (path, ...rest) {
    const p = String(path);
    const base = p.split('/').pop();
    const watched = name !== 'openSync' || /^(uid_map|gid_map|setgroups|cgroup\.procs|tasks|state\.json.*)$/.test(base);
    if (watched) mark(`${name} ${base === lastArg ? '<id>' : base.replace(/\d+/g, 'N')}`);
    return orig.call(this, path, ...rest);
  };
}
for (const name of ['createConnection', 'connect']) {
  const orig = net[name];
  net[name] = function (...args) {
    mark(`net.${name}`);
    return orig.apply(this, args);
  };
}
for (const name of ['spawnSync', 'execFileSync']) {
  const orig = cp[name];
  cp[name] = function (file, ...rest) {
    const base = String(file).split('/').pop();
    mark(`${base} start`);
    try {
      return orig.call(this, file, ...rest);
    } finally {
      mark(`${base} end`);
    }
  };
}
syncBuiltinESMExports();

const exit = process.exit;
process.exit = function (code) {
  mark('process.exit');
  flush();
  return exit.call(this, code);
};
process.on('exit', () => {
  if (!flushed) {
    mark('exit event');
    flush();
  }
});

let flushed = false;
function flush() {
  flushed = true;
  if (!out) return;
  const t = performance.nodeTiming;
  const node = {
    nodeStart: +t.nodeStart.toFixed(2),
    v8Start: +t.v8Start.toFixed(2),
    environment: +t.environment.toFixed(2),
    bootstrapComplete: +t.bootstrapComplete.toFixed(2),
  };
  fs.appendFileSync(out, JSON.stringify({ argv: process.argv.slice(2), node, marks, rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1) }) + '\n');
}
