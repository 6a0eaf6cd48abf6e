// Shared by the confinement suites (seccomp, capabilities, escapes): the static probe program built
// from probe/probe.c, and podman's default seccomp profile turned into the config form an engine sends.
import { spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, type Bundle } from './harness.js';

let probe: string | undefined;

/** Builds test/integration/probe/probe.c statically (once per process); undefined without a compiler. */
export function probeBinary(): string | undefined {
  if (probe !== undefined) return probe;
  // Not a harness tempDir: those go after each test, the probe stays for the whole file.
  const dir = mkdtempSync(join(tmpdir(), 'tsrunc-it-probe-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'probe');
  const src = join(repoRoot(), 'test', 'integration', 'probe', 'probe.c');
  const r = spawnSync('cc', ['-static', '-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  probe = out;
  return out;
}

/** A bundle `setup` step that puts the probe at /bin/probe. */
export function withProbe(b: Bundle): void {
  const p = probeBinary();
  if (p === undefined) throw new Error('cannot build the probe (cc -static failed: install gcc and libc6-dev)');
  copyFileSync(p, join(b.rootfs, 'bin', 'probe'));
  chmodSync(join(b.rootfs, 'bin', 'probe'), 0o755);
}

/** Why the probe cannot be built here, or false. */
export function missingProbe(): string | false {
  return probeBinary() === undefined ? 'requires a C compiler with static libc (apt-get install gcc libc6-dev)' : false;
}

export const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';

interface EngineRule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[] | null;
  includes?: { arches?: string[]; caps?: string[]; minKernel?: string };
  excludes?: { arches?: string[]; caps?: string[] };
}

/**
 * podman's default profile (containers-common) as the OCI `linux.seccomp` podman writes for an amd64
 * container with capabilities `caps`: the arch map resolved, rules filtered by their includes/excludes.
 */
export function podmanSeccomp(caps: readonly string[]): Record<string, unknown> | undefined {
  if (!existsSync(PODMAN_PROFILE)) return undefined;
  const p = JSON.parse(readFileSync(PODMAN_PROFILE, 'utf8')) as {
    defaultAction: string;
    defaultErrnoRet?: number;
    archMap?: { architecture: string; subArchitectures?: string[] }[];
    syscalls: EngineRule[];
  };
  const native = p.archMap?.find((a) => a.architecture === 'SCMP_ARCH_X86_64');
  const architectures = native ? [native.architecture, ...(native.subArchitectures ?? [])] : [];
  const has = new Set(caps);
  const syscalls = p.syscalls
    .filter((r) => {
      const inc = r.includes ?? {};
      const exc = r.excludes ?? {};
      if (inc.arches && inc.arches.length > 0 && !inc.arches.includes('amd64')) return false;
      if (inc.caps && !inc.caps.every((c) => has.has(c))) return false;
      if (exc.arches?.includes('amd64')) return false;
      if (exc.caps?.some((c) => has.has(c))) return false;
      return true;
    })
    .map((r) => ({
      names: r.names ?? (r.name !== undefined ? [r.name] : []),
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args && r.args.length > 0 ? { args: r.args } : {}),
    }));
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    architectures,
    syscalls,
  };
}
