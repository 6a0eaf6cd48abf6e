// Host probes for `tsrunc doctor`: kernel features (helpers/probe.c), file capabilities, libseccomp.
// Kept apart from binding.ts on purpose: doctor must still answer when libtsrunc.so is missing or
// stale, so every function here reports "could not probe" instead of throwing. koffi loads lazily.
import { createRequire } from 'node:module';
import { findLibrary } from './binding.js';

/** The names helpers/probe.c answers to. */
export type KernelProbe = 'userns' | 'pidfd_open' | 'clone3' | 'close_range' | 'openat2' | 'mount_setattr';

/** 0 when it works, -errno when it does not, or null when the probe itself could not run. */
export type ProbeResult = number | null;

interface ProbeLib {
  probe(what: string): number;
  fileCaps(path: string, out: Uint32Array): number;
}

let lib: ProbeLib | null | undefined;

function koffi(): typeof import('koffi') {
  return createRequire(import.meta.url)('koffi') as typeof import('koffi');
}

function load(): ProbeLib | null {
  if (lib !== undefined) return lib;
  lib = null;
  const path = findLibrary();
  if (path === undefined) return lib;
  try {
    const so = koffi().load(path);
    lib = {
      probe: so.func('int tsrunc_probe(const char *what)'),
      fileCaps: so.func('int tsrunc_file_caps(const char *path, uint32_t *permitted)'),
    };
  } catch {
    // a library built before probe.c existed: doctor reports the features as unknown
  }
  return lib;
}

/** Runs one kernel probe. */
export function probeKernel(what: KernelProbe): ProbeResult {
  const l = load();
  return l === null ? null : l.probe(what);
}

/** The permitted file capabilities (low 32 bits) of `path`; 0 when it has none; null when unknown. */
export function fileCapabilities(path: string): number | null {
  const l = load();
  if (l === null) return null;
  const out = new Uint32Array(1);
  const r = l.fileCaps(path, out);
  if (r === 0) return out[0]!;
  return r === -61 /* ENODATA */ ? 0 : null;
}

let seccompVersion: string | null | undefined;

/** libseccomp's version ("2.5.4") when it can be loaded, else null (read once: koffi types are named). */
export function libseccompVersion(): string | null {
  if (seccompVersion === undefined) seccompVersion = readSeccompVersion();
  return seccompVersion;
}

function readSeccompVersion(): string | null {
  const path = process.env.TSRUNC_LIBSECCOMP || 'libseccomp.so.2';
  try {
    const k = koffi();
    const so = k.load(path);
    const version = k.struct('tsrunc_doctor_scmp_version', { major: 'uint32', minor: 'uint32', micro: 'uint32' });
    const get = so.func('const void *seccomp_version(void)');
    const v = k.decode(get(), version) as { major: number; minor: number; micro: number };
    return `${v.major}.${v.minor}.${v.micro}`;
  } catch {
    return null;
  }
}
