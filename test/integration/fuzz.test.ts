// Property test: configs mutated from a valid one (wrong types, missing fields, huge values, odd
// unicode, deep nesting, damaged JSON text) must each end in a created-and-started container or in one
// TsruncError with a one-line message: never another exception, a hang, a stack trace, or anything
// left behind (state, processes, mounts, cgroups). Runs in process through the runtime API, a fixed seed so a
// failure reproduces (TSRUNC_FUZZ_SEED, TSRUNC_FUZZ_CASES override), plus a sample through the CLI.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeContext, createContainer, deleteContainer, startContainer, TsruncError } from '../../src/index.js';
import * as native from '../../src/native/index.js';
import { cgroupsMentioning, cleanup, makeBundle, missingPrerequisites, mountsMentioning, processesMentioning, runRuntime, stateLeftovers, tempDir, type Spec } from './harness.js';

const SEED = Number(process.env.TSRUNC_FUZZ_SEED ?? 20261123);
const CASES = Number(process.env.TSRUNC_FUZZ_CASES ?? 2000);
const CLI_CASES = 50;

/** mulberry32: small, seedable, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const STRINGS = [
  '', ' ', 'a', '..', '.', '//', '/tmp', '/dev/null-not', 'relative/path', '/a/../b', '/proc/self/fd/3', 'x'.repeat(5000),
  '\u0000', 'nul\u0000inside', '\u202eevil', '𝕏😀', '\ud800', 'é\u0301', '\uFEFFbom', 'SCMP_ACT_ERRNO', 'CAP_SYS_ADMIN', 'CAP_NOPE',
  'RLIMIT_NOFILE', 'RLIMIT_BOGUS', 'bind', 'rbind', 'ro', 'tmpfs', 'proc', 'private', 'rshared', 'user', 'pid', 'network', 'time',
  'SCHED_FIFO', 'IOPRIO_CLASS_BE', 'LINUX32', '1.0.2', '2.0.0', 'true', '0', '-1', '1e999', 'kernel.msgmax', 'net.ipv4.ip_forward',
];
const NUMBERS = [0, 1, -1, 7, 42, 65534, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, -0.5, 1e308, -1e308, 1e-300];
/** Keys added at random: spec-ish and odd ones (never hooks, cgroups or the rootfs path: see `DENY`). */
const KEYS = ['type', 'path', 'source', 'destination', 'options', 'uid', 'gid', 'names', 'action', 'index', 'value', 'sysctl', 'personality',
  'scheduler', 'ioPriority', 'timeOffsets', 'seccomp', 'devices', 'maskedPaths', 'readonlyPaths', 'rlimits', 'env', 'args', 'capabilities',
  'noNewPrivileges', 'oomScoreAdj', 'umask', 'additionalGids', 'hostname', 'domainname', 'annotations', 'rootfsPropagation', '', '😀', '__proto__',
  'constructor', 'a'.repeat(300)];
/**
 * Fields the fuzzer leaves alone: hooks run host programs, cgroupsPath/resources act on the host's
 * cgroups, and root.path could point the container at the host's own root.
 */
const DENY = [/^\/hooks/, /^\/linux\/cgroupsPath/, /^\/linux\/resources/, /^\/root\/path/, /^\/root$/];

function deep(depth: number, r: () => number): Json {
  let v: Json = r() < 0.5 ? 'leaf' : 1;
  for (let i = 0; i < depth; i++) v = r() < 0.5 ? [v] : { k: v };
  return v;
}

function randomValue(r: () => number): Json {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  switch (Math.floor(r() * 9)) {
    case 0: return pick(STRINGS);
    case 1: return pick(NUMBERS);
    case 2: return r() < 0.5;
    case 3: return null;
    case 4: return [];
    case 5: return {};
    case 6: return deep(1 + Math.floor(r() * (r() < 0.1 ? 3000 : 20)), r);
    case 7: return Array.from({ length: 1 + Math.floor(r() * 4) }, () => (r() < 0.5 ? pick(STRINGS) : pick(NUMBERS)));
    default: return { [pick(KEYS)]: r() < 0.5 ? pick(STRINGS) : pick(NUMBERS) };
  }
}

/** Every (pointer, container, key) in the document, for picking a place to mutate. */
function places(doc: Json, pointer = '', out: { pointer: string; parent: Json[] | Record<string, Json>; key: string | number }[] = []) {
  if (doc === null || typeof doc !== 'object') return out;
  const entries: [string | number, Json][] = Array.isArray(doc) ? doc.map((v, i) => [i, v]) : Object.entries(doc);
  for (const [k, v] of entries) {
    const p = `${pointer}/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (DENY.some((d) => d.test(p))) continue;
    out.push({ pointer: p, parent: doc, key: k });
    places(v, p, out);
  }
  return out;
}

/** One mutated config.json text, and what was done (for the failure message). */
function mutate(base: Json, r: () => number): { text: string; log: string[] } {
  const doc = structuredClone(base);
  const log: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const all = places(doc);
    const at = all[Math.floor(r() * all.length)]!;
    const kind = r();
    if (kind < 0.45) {
      const v = randomValue(r);
      (at.parent as Record<string, Json>)[at.key as string] = v;
      log.push(`set ${at.pointer} = ${JSON.stringify(v)?.slice(0, 80)}`);
    } else if (kind < 0.7) {
      if (Array.isArray(at.parent)) at.parent.splice(at.key as number, 1);
      else delete at.parent[at.key as string];
      log.push(`delete ${at.pointer}`);
    } else if (kind < 0.85) {
      const target = (at.parent as Record<string, Json>)[at.key as string];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        const k = KEYS[Math.floor(r() * KEYS.length)]!;
        (target as Record<string, Json>)[k] = randomValue(r);
        log.push(`add ${at.pointer}/${k}`);
      } else if (Array.isArray(target) && target.length > 0) {
        target.push(structuredClone(target[Math.floor(r() * target.length)]!));
        log.push(`duplicate an element of ${at.pointer}`);
      }
    } else {
      log.push(`keep ${at.pointer}`);
    }
  }
  let text = JSON.stringify(doc, null, r() < 0.5 ? 2 : 0);
  if (r() < 0.06) {
    const cut = Math.floor(r() * text.length);
    const damage = Math.floor(r() * 4);
    text = damage === 0 ? text.slice(0, cut) : damage === 1 ? text.slice(0, cut) + '\u0000\uffff' + text.slice(cut) : damage === 2 ? `\ufeff${text}` : `${text.slice(0, cut)}, "ociVersion": 7${text.slice(cut)}`;
    log.push(`text damage ${damage} at ${cut}`);
  }
  return { text, log };
}

/** Processes that are children of this one (a container init left behind would be). */
function ourChildren(): string[] {
  const out: string[] = [];
  for (const t of readdirSync('/proc/self/task')) {
    try {
      out.push(...readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' ').filter(Boolean));
    } catch {
      // a thread that went away
    }
  }
  return out;
}

describe('fuzz: mutated configs end in a container or a one-line error', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  test(`${CASES} mutated configs through the runtime API (seed ${SEED})`, { timeout: 600_000 }, async () => {
    // Issue 4 asks for at least 2,000 cases: CI may not run fewer (a local run may, for speed).
    if (process.env.CI === 'true') assert.ok(CASES >= 2000, `TSRUNC_FUZZ_CASES=${CASES}: CI runs at least 2000 cases`);
    const bundle = makeBundle({ args: ['true'] });
    const base = JSON.parse(readFileSync(bundle.configPath, 'utf8')) as Json;
    const root = tempDir('fuzz-state', 0o700);
    const warnings: string[] = [];
    const ctx = makeContext({ root, logger: { warn: (m) => warnings.push(m), debug: () => {} } });
    const r = rng(SEED);
    const outcome = { started: 0, errors: 0, codes: new Map<string, number>(), example: new Map<string, string>() };
    const childrenBefore = ourChildren().length;
    for (let i = 0; i < CASES; i++) {
      const { text, log } = mutate(base, r);
      writeFileSync(bundle.configPath, text);
      // The pid keeps ids (and so cgroups, which as root all live in one hierarchy) apart from another run's.
      const id = `fuzz-${process.pid}-${i}`;
      const where = `case ${i} (TSRUNC_FUZZ_SEED=${SEED}): ${log.join('; ')}`;
      let created: Awaited<ReturnType<typeof createContainer>> | undefined;
      try {
        created = await createContainer(ctx, id, { bundle: bundle.dir });
        startContainer(ctx, id, { dirFd: created.dirFd, state: created.state });
        outcome.started++;
      } catch (e) {
        if (!(e instanceof TsruncError)) assert.fail(`${where}: not a TsruncError: ${(e as Error)?.stack ?? String(e)}`);
        assert.ok(!e.message.includes('\n') && e.message.length > 0 && e.message.length < 2000, `${where}: not one line: ${JSON.stringify(e.message)}`);
        outcome.errors++;
        outcome.codes.set(e.code, (outcome.codes.get(e.code) ?? 0) + 1);
        if (!outcome.example.has(e.code)) outcome.example.set(e.code, `case ${i}: ${e.message}`);
      } finally {
        if (created !== undefined) {
          native.abort(created.spawned);
          native.closeFd(created.dirFd);
          if (created.console !== undefined) native.closeFd(created.console);
          await deleteContainer(ctx, id, true).catch((e: unknown) => assert.fail(`${where}: delete failed: ${String(e)}`));
        }
      }
      assert.deepEqual(stateLeftovers(root), [], `${where}: state left behind`);
      assert.equal(ourChildren().length, childrenBefore, `${where}: a process left behind`);
    }
    assert.deepEqual(mountsMentioning(bundle.dir), [], 'mounts left on the host');
    assert.deepEqual(cgroupsMentioning(`fuzz-${process.pid}-`), [], 'cgroups left behind');
    console.log(`# fuzz: ${outcome.started} started, ${outcome.errors} errors ${JSON.stringify(Object.fromEntries(outcome.codes))}, ${warnings.length} warnings`);
    for (const [code, example] of outcome.example) console.log(`#   first ${code}: ${example.slice(0, 300)}`);
    // The mutations must reach the container, not only the parser.
    assert.ok(outcome.started >= CASES / 20, `only ${outcome.started} of ${CASES} configs started`);
    assert.ok(outcome.errors >= CASES / 4, `only ${outcome.errors} of ${CASES} configs failed`);
  });

  test(`${CLI_CASES} of them through the CLI: exit 0, or exit 1 with one "tsrunc: " line on stderr`, { timeout: 300_000 }, async () => {
    const bundle = makeBundle({ args: ['true'] });
    const base = JSON.parse(readFileSync(bundle.configPath, 'utf8')) as Spec as unknown as Json;
    const r = rng(SEED + 1);
    for (let i = 0; i < CLI_CASES; i++) {
      const { text, log } = mutate(base, r);
      writeFileSync(bundle.configPath, text);
      const res = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, `fuzz-cli-${process.pid}-${i}`], { cwd: bundle.dir, timeoutMs: 20_000 });
      const where = `cli case ${i} (seed ${SEED + 1}): ${log.join('; ')}\n${res.stderr}`;
      assert.equal(res.timedOut, false, `${where}: hung`);
      const lines = res.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('tsrunc: warning:'));
      if (res.code === 0) {
        assert.deepEqual(lines, [], where);
      } else {
        assert.equal(res.code, 1, where);
        assert.equal(lines.length, 1, where);
        assert.match(lines[0]!, /^tsrunc: /, where);
        assert.doesNotMatch(res.stderr, /\n\s+at /, `${where}: a stack trace`);
      }
      assert.deepEqual(stateLeftovers(res.root), [], `${where}: state left behind`);
      assert.deepEqual(processesMentioning(bundle.dir), [], `${where}: a process left behind`);
    }
    assert.deepEqual(mountsMentioning(bundle.dir), [], 'mounts left on the host');
    assert.deepEqual(cgroupsMentioning(`fuzz-cli-${process.pid}-`), [], 'cgroups left behind');
  });
});
