// Bundles the CLI and the library API into dist/ with esbuild: one file each, so start-up reads one file.
// koffi and dbus-next stay external (native module; loaded lazily only by the paths that need them).
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  external: ['koffi', 'dbus-next'],
  logLevel: 'warning',
};

await build({ ...common, entryPoints: { tsrunc: 'src/cli/main.ts', index: 'src/index.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]' });
