// How the embedding process's size changes the cost of a container: the embedded runContainer loop at
// three RSS sizes (ballast buffers), CPU per container split into the process's own user/system time and
// the containers' (children reaped). Run it as root or as a rootless user on a `true` bundle:
//   node bench/embedded-rss.mjs --bundle DIR [--dist dist/index.js] [--count 150] [--sizes 0,200,600]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const dist = resolve(opt('--dist', join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js')));
const bundle = opt('--bundle', undefined);
if (bundle === undefined) throw new Error('--bundle DIR is required (a bundle whose process is `true`)');
const count = Number(opt('--count', '150'));
const sizes = opt('--sizes', '0,200,600').split(',').map(Number);

const api = await import(pathToFileURL(dist).href);
const root = mkdtempSync(join(tmpdir(), 'tsrunc-emb-rss-'));
const ctx = api.makeContext({ root });
const ticks = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return [11, 12, 13, 14].map((i) => Number(f[i]) * 10); // utime stime cutime cstime, ms
};
const ballast = [];
console.log('| embedding process RSS | own user | own sys | containers user | containers sys | wall | (ms per container) |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const extra of sizes) {
  while (ballast.length < extra) ballast.push(Buffer.alloc(1 << 20, 1));
  for (let i = 0; i < 5; i++) await api.runContainer(ctx, `w${extra}-${i}`, { bundle });
  const a = ticks();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await api.runContainer(ctx, `c${extra}-${i}`, { bundle });
  const wall = (performance.now() - t0) / count;
  const b = ticks();
  const per = b.map((v, i) => ((v - a[i]) / count).toFixed(2));
  console.log(`| ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB | ${per.join(' | ')} | ${wall.toFixed(2)} | |`);
}
rmSync(root, { recursive: true, force: true });
