// Case 6 of bench.mjs, in its own process: containers per second through tsrunc's embedded API
// (`new Runtime()` and `runtime.run()`, on the same runContainer the CLI's `run` calls: state written
// and removed, cgroup driver chosen and released, id maps written), sequentially. Prints JSON on stdout.
//   node bench/embedded.mjs --dist dist/index.js --bundle DIR --root DIR [--count 200] [--rounds 3]
import { pathToFileURL } from 'node:url';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const count = Number(args.count ?? 200);
const rounds = Number(args.rounds ?? 3);
mkdirSync(args.root, { recursive: true, mode: 0o700 });

const t0 = performance.now();
const api = await import(pathToFileURL(args.dist).href);
const warnings = new Set();
const runtime = new api.Runtime({ root: args.root, logger: { warn: (m) => warnings.add(m.replace(/"[^"]*"/, '"…"')), debug: () => {} } });
const run = async (id) => {
  const { code } = await runtime.run(id, { bundle: args.bundle });
  if (code !== 0) throw new Error(`container ${id} exited ${code}`);
};
await run('emb-first');
const firstMs = performance.now() - t0;
for (let i = 0; i < 10; i++) await run(`emb-warm-${i}`);

// CPU of this process, of the children it reaped (the containers) and of those still alive (the
// Runtime's spawner, which clones the containers), in ms (clock ticks of 10 ms).
const ticks = (stat) => {
  const f = stat.split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const liveChildrenTicks = () => {
  let t = 0;
  for (const task of readdirSync('/proc/self/task')) {
    for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
      try {
        t += ticks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        // exited meanwhile: counted with the reaped children
      }
    }
  }
  return t;
};
const cpuMs = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) + liveChildrenTicks()) * 10;
};
const rates = [];
const cpuRates = [];
for (let r = 0; r < rounds; r++) {
  const s = performance.now();
  const c = cpuMs();
  for (let i = 0; i < count; i++) await run(`emb-${r}-${i}`);
  rates.push((count * 1000) / (performance.now() - s));
  cpuRates.push((count * 1000) / Math.max(cpuMs() - c, 10));
}
const mem = process.memoryUsage();
process.stdout.write(JSON.stringify({ rates, cpuRates, firstMs, heapMiB: mem.heapUsed / 2 ** 20, rssMiB: mem.rss / 2 ** 20, warnings: [...warnings] }) + '\n');
