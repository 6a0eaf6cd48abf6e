// tsrunc update [flags] <id>: new limits for a running container, through its cgroup driver
// (SetUnitProperties for systemd, cgroup files for cgroupfs). runc's flags, or --resources FILE|-
// with a linux.resources JSON object.
import { readFileSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import type { LinuxResources } from '../spec/schema.js';
import { context, oneId, log } from './common.js';
import { updateContainer } from '../runtime/cgroup-ops.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  // `-r -` (stdin): the parser drops a lone "-" and the argument after it, leaving the flag with no
  // value; the id is then the last argument on the command line (runc's usage puts it last).
  if (flags.resources === true) {
    const argv = process.argv;
    const at = argv.findIndex((a, k) => (a === '-r' || a === '--resources') && argv[k + 1] === '-');
    if (at < 0) throw new TsruncError('invalid-argument', '--resources: needs a file, or - for stdin');
    const last = argv[argv.length - 1];
    if (args.length === 0 && last !== undefined && last !== '-' && !last.startsWith('-')) args = [last];
    flags = { ...flags, resources: '-' };
  }
  const id = oneId(args, 'update');
  const resources = await resourcesFrom(flags);
  for (const w of await updateContainer(context(flags), id, resources)) log().warn(w);
  return 0;
}

async function resourcesFrom(flags: Record<string, unknown>): Promise<LinuxResources> {
  const file = flags.resources;
  if (typeof file === 'string' && file !== '') {
    const text = file === '-' ? readFileSync(0, 'utf8') : readText(file);
    const { parseJsonLossless, parseConfig } = await import('../spec/load.js');
    let value: unknown;
    try {
      value = parseJsonLossless(text);
    } catch (e) {
      throw new TsruncError('invalid-argument', `--resources: ${(e as Error).message}`);
    }
    const config = parseConfig({ ociVersion: '1.2.0', linux: { resources: value } }, '--resources');
    return config.linux?.resources ?? {};
  }
  return resourcesFromFlags(flags);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TsruncError('invalid-argument', `--resources: ${path}: ${(e as Error).message}`);
  }
}

/** runc update's flags as linux.resources (memory sizes take k/m/g suffixes, as runc's do). */
export function resourcesFromFlags(flags: Record<string, unknown>): LinuxResources {
  const r: LinuxResources = {};
  const num = (name: string, flag: string, parse: (v: string) => bigint = intArg): bigint | undefined => {
    const v = flags[name];
    if (v === undefined || v === '') return undefined;
    try {
      return parse(String(v));
    } catch {
      throw new TsruncError('invalid-argument', `${flag}: "${String(v)}" is not a valid value`);
    }
  };
  const small = (v: bigint) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const memory: NonNullable<LinuxResources['memory']> = {};
  const limit = num('memory', '--memory', bytesArg);
  if (limit !== undefined) memory.limit = small(limit);
  const reservation = num('memoryReservation', '--memory-reservation', bytesArg);
  if (reservation !== undefined) memory.reservation = small(reservation);
  const swap = num('memorySwap', '--memory-swap', bytesArg);
  if (swap !== undefined) memory.swap = small(swap);
  for (const [name, flag] of [['kernelMemory', '--kernel-memory'], ['kernelMemoryTcp', '--kernel-memory-tcp']] as const) {
    if (flags[name] !== undefined) throw new TsruncError('not-supported', `${flag}: kernel memory limits do not exist on cgroup v2`);
  }
  if (Object.keys(memory).length > 0) r.memory = memory;

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const shares = num('cpuShare', '--cpu-share');
  if (shares !== undefined) cpu.shares = small(shares);
  const quota = num('cpuQuota', '--cpu-quota');
  if (quota !== undefined) cpu.quota = small(quota);
  const period = num('cpuPeriod', '--cpu-period');
  if (period !== undefined) cpu.period = small(period);
  if (flags.cpuRtPeriod !== undefined || flags.cpuRtRuntime !== undefined) throw new TsruncError('not-supported', '--cpu-rt-period/--cpu-rt-runtime: real-time CPU limits do not exist on cgroup v2');
  if (typeof flags.cpusetCpus === 'string') cpu.cpus = flags.cpusetCpus;
  if (typeof flags.cpusetMems === 'string') cpu.mems = flags.cpusetMems;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;

  const pids = num('pidsLimit', '--pids-limit');
  if (pids !== undefined) r.pids = { limit: small(pids) };
  const weight = num('blkioWeight', '--blkio-weight');
  if (weight !== undefined) {
    if (weight < 10n || weight > 1000n) throw new TsruncError('invalid-argument', `--blkio-weight: ${weight} is not between 10 and 1000`);
    r.blockIO = { weight: Number(weight) };
  }
  if (flags.l3CacheSchema !== undefined || flags.memBwSchema !== undefined) throw new TsruncError('not-supported', '--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported by tsrunc yet');
  if (Object.keys(r).length === 0) throw new TsruncError('invalid-argument', 'update: no limit given (see tsrunc update --help)');
  return r;
}

function intArg(v: string): bigint {
  if (!/^-?\d+$/.test(v)) throw new Error('not an integer');
  return BigInt(v);
}

/** "512m", "1g", "1048576", "-1" → bytes (docker's RAMInBytes, which runc uses). */
export function bytesArg(v: string): bigint {
  const m = /^(-?\d+)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (m === null) throw new Error('not a size');
  const n = BigInt(m[1]!);
  const shift = { '': 0n, k: 10n, m: 20n, g: 30n, t: 40n, p: 50n }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't' | 'p'];
  return n < 0n ? n : n << shift;
}
