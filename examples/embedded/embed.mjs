#!/usr/bin/env node
// tsrunc embedded in a Node program: `import { Runtime } from 'tsrunc'`, no CLI process per container.
// Builds a busybox bundle in a temporary directory, then: one container with its output captured in a
// file, one created/started/killed/waited for/deleted by hand with events, and 200 `true` containers
// run back to back to show the rate. Works as a normal user (rootless) and as root:
//   npm run build && node examples/embedded/embed.mjs
import { Runtime } from 'tsrunc';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => spawnSync(p, ['true']).status === 0);
if (busybox === undefined) {
  console.error('embed: needs a static busybox (apt-get install busybox-static)');
  process.exit(1);
}

// A bundle: busybox as the root filesystem, config.json from `tsrunc spec` (--rootless unless root).
const tmp = mkdtempSync(join(tmpdir(), 'tsrunc-embed-'));
chmodSync(tmp, 0o755);
const bundle = join(tmp, 'bundle');
for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(bundle, 'rootfs', d), { recursive: true });
copyFileSync(busybox, join(bundle, 'rootfs', 'bin', 'busybox'));
for (const a of ['sh', 'true', 'sleep', 'echo', 'hostname']) symlinkSync('busybox', join(bundle, 'rootfs', 'bin', a));
writeFileSync(join(bundle, 'rootfs', 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
writeFileSync(join(bundle, 'rootfs', 'etc', 'group'), 'root:x:0:\n');
const rootless = process.getuid() !== 0;
const spec = spawnSync(join(repo, 'bin', 'tsrunc'), ['spec', ...(rootless ? ['--rootless'] : []), '--bundle', bundle], { encoding: 'utf8' });
if (spec.status !== 0) throw new Error(spec.stderr);
const configPath = join(bundle, 'config.json');
const config = JSON.parse(readFileSync(configPath, 'utf8'));
config.process.terminal = false;
const withArgs = (args) => {
  writeFileSync(configPath, JSON.stringify({ ...config, process: { ...config.process, args } }));
};

// One Runtime for the whole program: its own state root here (default: $XDG_RUNTIME_DIR/tsrunc).
// Warnings (such as "runs without a cgroup") repeat per container: print each kind once.
const warned = new Set();
const warn = (m) => {
  const kind = m.replace(/"[^"]*"/, '…');
  if (!warned.has(kind)) console.error(`warning: ${kind}`);
  warned.add(kind);
};
const rt = new Runtime({ root: join(tmp, 'state'), logger: { warn, debug: () => {} } });
rt.on('exit', (id, s) => console.log(`  event: ${id} exited with ${s.code}`));

try {
  // 1. run: resolves to the exit status; stdout and stderr go to the fds we pass.
  withArgs(['sh', '-c', 'echo "hello from $(hostname)"; exit 3']);
  const outFile = join(tmp, 'out.txt');
  const out = openSync(outFile, 'w');
  const status = await rt.run('embed-hello', { bundle, stdio: [-1, out, out] });
  closeSync(out);
  console.log(`run: exit ${status.code}, output ${JSON.stringify(readFileSync(outFile, 'utf8'))}`);

  // 2. The lifecycle by hand: create, start, state, kill, wait, delete.
  withArgs(['sleep', '1000']);
  await rt.create('embed-sleeper', { bundle });
  await rt.start('embed-sleeper');
  console.log(`state: ${(await rt.state('embed-sleeper')).status}`);
  const exited = rt.wait('embed-sleeper');
  await rt.kill('embed-sleeper', 'SIGKILL');
  console.log(`wait: ${JSON.stringify(await exited)}`);
  await rt.delete('embed-sleeper');

  // 3. Throughput: 200 `true` containers, one after the other (state, cgroup and cleanup as the CLI).
  withArgs(['true']);
  rt.removeAllListeners('exit');
  const start = performance.now();
  for (let i = 0; i < 200; i++) {
    const s = await rt.run(`embed-${i}`, { bundle });
    if (s.code !== 0) throw new Error(`embed-${i} exited with ${s.code}`);
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`200 containers in ${seconds.toFixed(2)} s: ${(200 / seconds).toFixed(0)} containers/s`);
} finally {
  rt.close();
  rmSync(tmp, { recursive: true, force: true });
}
