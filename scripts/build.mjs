// `npm run build` (and `npm install`, through `prepare`): the C init core with the system compiler,
// then the TypeScript bundled by esbuild into one file per entry, so start-up reads one file.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = ['cc', 'make'].filter((c) => !have(c));
if (missing.length > 0) {
  console.error(`tsrunc: building the C init core needs ${missing.join(' and ')}: install them with \`apt-get install gcc make libc6-dev\` (Debian/Ubuntu) or \`dnf install gcc make glibc-devel\` (Fedora)`);
  process.exit(1);
}
// NODE: the front end (helpers/build/tsrunc) falls back to this node when PATH has none.
const make = spawnSync('make', ['-s', '-C', 'helpers', `NODE=${process.execPath}`], { stdio: 'inherit' });
if (make.status !== 0) {
  console.error('tsrunc: building helpers/ failed (see the compiler output above); it needs gcc, make and the C library headers (libc6-dev)');
  process.exit(1);
}

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  // koffi is a native module and dbus-next is loaded only by the systemd cgroup driver.
  external: ['koffi', 'dbus-next'],
  logLevel: 'warning',
};

// A fresh dist/: chunk names change with their content, and stale ones would pile up and ship.
rmSync('dist', { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { tsrunc: 'src/cli/main.ts', index: 'src/index.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
