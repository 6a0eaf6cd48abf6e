import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfigText, parseJsonLossless, JsonSyntaxError } from '../../src/spec/load.js';
import { TsruncError } from '../../src/errors.js';

const BASE = {
  ociVersion: '1.2.0',
  process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
  root: { path: 'rootfs' },
  linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
};

/** BASE with `patch` applied at a dotted path ("process.user.uid"); undefined deletes. */
function withField(path: string, value: unknown): string {
  const c = structuredClone(BASE) as Record<string, any>;
  const keys = path.split('.');
  let o = c;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
  return JSON.stringify(c);
}

function invalid(text: string): string {
  try {
    parseConfigText(text);
  } catch (e) {
    assert.ok(e instanceof TsruncError, `not a TsruncError: ${e}`);
    assert.equal(e.code, 'invalid-config');
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected an invalid-config error');
}

// [what, config text, expected message]
const MALFORMED: [string, string, string][] = [
  ['ociVersion missing', withField('ociVersion', undefined), 'config.json: /ociVersion: is required'],
  ['ociVersion a number', withField('ociVersion', 1), 'config.json: /ociVersion: must be a string'],
  ['process not an object', withField('process', 'sh'), 'config.json: /process: must be an object'],
  ['process an array', withField('process', []), 'config.json: /process: must be an object'],
  ['args a string', withField('process.args', 'sh'), 'config.json: /process/args: must be a non-empty array of strings'],
  ['args element a number', withField('process.args', ['sh', 1]), 'config.json: /process/args/1: must be a string'],
  ['cwd missing', withField('process.cwd', undefined), 'config.json: /process/cwd: is required'],
  ['terminal a string', withField('process.terminal', 'yes'), 'config.json: /process/terminal: must be true or false'],
  ['uid negative', withField('process.user.uid', -1), 'config.json: /process/user/uid: must be an integer between 0 and 4294967295'],
  ['gid fractional', withField('process.user.gid', 1.5), 'config.json: /process/user/gid: must be an integer between 0 and 4294967295'],
  ['additionalGids a number', withField('process.user.additionalGids', 5), 'config.json: /process/user/additionalGids: must be an array of group ids'],
  ['additionalGids element too big', withField('process.user.additionalGids', [1, 4294967296]), 'config.json: /process/user/additionalGids/1: must be an integer between 0 and 4294967295'],
  ['env not strings', withField('process.env', [{ PATH: '/bin' }]), 'config.json: /process/env/0: must be a string'],
  ['capabilities an array', withField('process.capabilities', ['CAP_KILL']), 'config.json: /process/capabilities: must be an object'],
  ['bounding caps a string', withField('process.capabilities', { bounding: 'CAP_KILL' }), 'config.json: /process/capabilities/bounding: must be an array of strings'],
  ['rlimit type lowercase', withField('process.rlimits', [{ type: 'nofile', soft: 1, hard: 1 }]), 'config.json: /process/rlimits/0/type: must match RLIMIT_[A-Z]+, e.g. "RLIMIT_NOFILE"'],
  ['rlimit soft missing', withField('process.rlimits', [{ type: 'RLIMIT_NOFILE', hard: 1 }]), 'config.json: /process/rlimits/0/soft: is required'],
  ['rlimit hard a string', withField('process.rlimits', [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 'unlimited' }]), 'config.json: /process/rlimits/0/hard: must be an integer between 0 and 18446744073709551615'],
  ['oomScoreAdj a string', withField('process.oomScoreAdj', '5'), 'config.json: /process/oomScoreAdj: must be an integer between -9007199254740991 and 9007199254740991'],
  ['scheduler policy unknown', withField('process.scheduler', { policy: 'SCHED_FAST' }), 'config.json: /process/scheduler/policy: unknown scheduler policy "SCHED_FAST" (expected one of SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_ISO, SCHED_IDLE, SCHED_DEADLINE)'],
  ['ioPriority class missing', withField('process.ioPriority', { priority: 1 }), 'config.json: /process/ioPriority/class: is required'],
  ['execCPUAffinity bad list', withField('process.execCPUAffinity', { initial: 'all' }), 'config.json: /process/execCPUAffinity/initial: must be a CPU list such as "0-3,7"'],
  ['root path missing', withField('root', { readonly: true }), 'config.json: /root/path: is required'],
  ['root readonly a string', withField('root.readonly', 'true'), 'config.json: /root/readonly: must be true or false'],
  ['hostname a number', withField('hostname', 42), 'config.json: /hostname: must be a string'],
  ['mounts an object', withField('mounts', { '/proc': {} }), 'config.json: /mounts: must be an array'],
  ['mount destination missing', withField('mounts', [{ type: 'proc', source: 'proc' }]), 'config.json: /mounts/0/destination: is required'],
  ['mount options a string', withField('mounts', [{ destination: '/x', type: 'tmpfs', options: 'ro,nosuid' }]), 'config.json: /mounts/0/options: must be an array of strings'],
  ['mount uidMappings size missing', withField('mounts', [{ destination: '/x', uidMappings: [{ containerID: 0, hostID: 0 }] }]), 'config.json: /mounts/0/uidMappings/0/size: is required'],
  ['hook without path', withField('hooks', { poststart: [{ args: ['x'] }] }), 'config.json: /hooks/poststart/0/path: is required'],
  ['hook timeout zero', withField('hooks', { prestart: [{ path: '/x', timeout: 0 }] }), 'config.json: /hooks/prestart/0/timeout: must be an integer between 1 and 9007199254740991'],
  ['hooks kind not a list', withField('hooks', { createRuntime: { path: '/x' } }), 'config.json: /hooks/createRuntime: must be an array'],
  ['annotation value a number', withField('annotations', { a: 1 }), 'config.json: /annotations/a: must be a string'],
  ['linux an array', withField('linux', []), 'config.json: /linux: must be an object'],
  ['namespace type unknown', withField('linux.namespaces', [{ type: 'pid' }, { type: 'mount' }, { type: 'foo' }]), 'config.json: /linux/namespaces/2/type: unknown namespace type "foo" (expected one of pid, network, mount, ipc, uts, user, cgroup, time)'],
  ['namespace path a number', withField('linux.namespaces', [{ type: 'pid', path: 5 }]), 'config.json: /linux/namespaces/0/path: must be a string'],
  ['uidMappings hostID too big', withField('linux.uidMappings', [{ containerID: 0, hostID: 2 ** 32, size: 1 }]), 'config.json: /linux/uidMappings/0/hostID: must be an integer between 0 and 4294967295'],
  ['device type unknown', withField('linux.devices', [{ path: '/dev/x', type: 'z' }]), 'config.json: /linux/devices/0/type: unknown device type "z" (expected one of c, b, u, p)'],
  ['device path missing', withField('linux.devices', [{ type: 'c', major: 1, minor: 3 }]), 'config.json: /linux/devices/0/path: is required'],
  ['rootfsPropagation unknown', withField('linux.rootfsPropagation', 'rrslave'), 'config.json: /linux/rootfsPropagation: unknown rootfs propagation "rrslave" (expected one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable)'],
  ['cgroup device rule type', withField('linux.resources', { devices: [{ allow: true, type: 'x' }] }), 'config.json: /linux/resources/devices/0/type: unknown cgroup device type "x" (expected one of a, c, b)'],
  ['cgroup device access', withField('linux.resources', { devices: [{ allow: true, access: 'rwx' }] }), 'config.json: /linux/resources/devices/0/access: must be a combination of r, w and m'],
  ['cgroup device allow missing', withField('linux.resources', { devices: [{ access: 'rwm' }] }), 'config.json: /linux/resources/devices/0/allow: is required'],
  ['swappiness over 100', withField('linux.resources', { memory: { swappiness: 101 } }), 'config.json: /linux/resources/memory/swappiness: must be an integer between 0 and 100'],
  ['pids limit missing', withField('linux.resources', { pids: {} }), 'config.json: /linux/resources/pids/limit: is required'],
  ['blkio weight too big', withField('linux.resources', { blockIO: { weight: 70000 } }), 'config.json: /linux/resources/blockIO/weight: must be an integer between 0 and 65535'],
  ['unified value a number', withField('linux.resources', { unified: { 'memory.max': 5 } }), 'config.json: /linux/resources/unified/memory.max: must be a string'],
  ['seccomp action unknown', withField('linux.seccomp', { defaultAction: 'SCMP_ACT_DENY' }), 'config.json: /linux/seccomp/defaultAction: unknown seccomp action "SCMP_ACT_DENY" (expected one of SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY)'],
  ['seccomp arch unknown', withField('linux.seccomp', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'amd64'] }), 'config.json: /linux/seccomp/architectures/1: unknown seccomp architecture "amd64" (expected one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X, SCMP_ARCH_PARISC, SCMP_ARCH_PARISC64, SCMP_ARCH_RISCV64, SCMP_ARCH_LOONGARCH64, SCMP_ARCH_M68K, SCMP_ARCH_SH, SCMP_ARCH_SHEB)'],
  ['seccomp flag unknown', withField('linux.seccomp', { defaultAction: 'SCMP_ACT_ALLOW', flags: ['TSYNC'] }), 'config.json: /linux/seccomp/flags/0: unknown seccomp flag "TSYNC" (expected one of SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)'],
  ['seccomp syscall without names', withField('linux.seccomp', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }), 'config.json: /linux/seccomp/syscalls/0/names: must name at least one system call'],
  ['seccomp arg operator unknown', withField('linux.seccomp', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'EQ' }] }] }), 'config.json: /linux/seccomp/syscalls/0/args/0/op: unknown seccomp operator "EQ" (expected one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)'],
  ['seccomp arg value missing', withField('linux.seccomp', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, op: 'SCMP_CMP_EQ' }] }] }), 'config.json: /linux/seccomp/syscalls/0/args/0/value: is required'],
  ['sysctl value a number', withField('linux.sysctl', { 'net.ipv4.ip_forward': 1 }), 'config.json: /linux/sysctl/net.ipv4.ip_forward: must be a string'],
  ['maskedPaths a string', withField('linux.maskedPaths', '/proc/kcore'), 'config.json: /linux/maskedPaths: must be an array of strings'],
  ['personality domain unknown', withField('linux.personality', { domain: 'LINUX64' }), 'config.json: /linux/personality/domain: unknown personality domain "LINUX64" (expected one of LINUX, LINUX32)'],
  ['timeOffsets secs a string', withField('linux.timeOffsets', { monotonic: { secs: '1' } }), 'config.json: /linux/timeOffsets/monotonic/secs: must be an integer between -9223372036854775808 and 9223372036854775807'],
  ['intelRdt enableCMT a string', withField('linux.intelRdt', { enableCMT: 'yes' }), 'config.json: /linux/intelRdt/enableCMT: must be true or false'],
  ['netDevices entry a string', withField('linux.netDevices', { eth0: 'ctr0' }), 'config.json: /linux/netDevices/eth0: must be an object'],
  ['windows not an object', withField('windows', 'yes'), 'config.json: /windows: must be an object'],
];

for (const [what, text, expected] of MALFORMED) {
  test(`malformed: ${what}`, () => {
    assert.equal(invalid(text), expected);
  });
}

test(`at least 30 malformed configs are covered (${MALFORMED.length})`, () => {
  assert.ok(MALFORMED.length >= 30);
});

test('the base config of the table is valid', () => {
  assert.equal(parseConfigText(JSON.stringify(BASE)).ociVersion, '1.2.0');
});

test('a document that is not an object is refused as a whole', () => {
  assert.equal(invalid('[]'), 'config.json: must be a JSON object');
  assert.equal(invalid('"x"'), 'config.json: must be a JSON object');
  assert.equal(invalid('null'), 'config.json: must be a JSON object');
});

const SYNTAX: [string, string, string][] = [
  ['{\n  "ociVersion": "1.2.0",\n  "process": {\n    "args": ["sh"],\n  }\n}', 'line 5, column 3', 'expected a property name in double quotes, found "}"'],
  ['{"a":}', 'line 1, column 6', 'expected a value, found "}"'],
  ['{"a" 1}', 'line 1, column 6', 'expected ":" after the property name, found "1"'],
  ['', 'line 1, column 1', 'expected a value, found the end of the file'],
  ['{\n"a": [1 2]}', 'line 2, column 9', 'expected "," or "]", found "2"'],
  ['{"a": 1}\nx', 'line 2, column 1', 'unexpected text after the end of the JSON value'],
  ["{'a': 1}", 'line 1, column 2', 'expected a property name in double quotes, found "\'"'],
  ['{"a": tru}', 'line 1, column 7', 'expected a value, found "tru"'],
  ['{"a": 01}', 'line 1, column 7', 'invalid number, found "01"'],
  ['{"a": "x\ny"}', 'line 1, column 9', 'control character in a string (escape it, e.g. \\n)'],
  ['{"a": "\\x"}', 'line 1, column 8', 'bad escape "\\x" in a string'],
  ['{"a": "abc', 'line 1, column 7', 'unterminated string'],
  ['{"a": 1', 'line 1, column 8', 'expected "," or "}", found the end of the file'],
];

for (const [text, where, reason] of SYNTAX) {
  test(`syntax error at ${where}: ${reason}`, () => {
    assert.equal(invalid(text), `config.json: invalid JSON at ${where}: ${reason}`);
  });
}

test('parseJsonLossless keeps integers beyond 2^53 exact as bigints, and nothing else', () => {
  const v = parseJsonLossless('{"a": 18446744073709551615, "b": -9223372036854775808, "c": 9007199254740991, "d": 1e300, "e": "18446744073709551615", "f": [12345678901234567890], "g": 1.5}') as Record<string, unknown>;
  assert.equal(v.a, 18446744073709551615n);
  assert.equal(v.b, -9223372036854775808n);
  assert.equal(v.c, 9007199254740991);
  assert.equal(v.d, 1e300);
  assert.equal(v.e, '18446744073709551615');
  assert.deepEqual(v.f, [12345678901234567890n]);
  assert.equal(v.g, 1.5);
});

test('parseJsonLossless: strings that look like numbers, escapes and keys do not confuse the scanner', () => {
  const v = parseJsonLossless('{"x\\"99999999999999999999": "\\\\", "99999999999999999999": 99999999999999999999}') as Record<string, unknown>;
  assert.equal(v['x"99999999999999999999'], '\\');
  assert.equal(v['99999999999999999999'], 99999999999999999999n);
});

test('parseJsonLossless: dropNulls leaves out null properties but keeps null array elements', () => {
  assert.deepEqual(parseJsonLossless('{"a": null, "b": {"c": null, "d": 1}, "e": [null]}', { dropNulls: true }), { b: { d: 1 }, e: [null] });
  assert.deepEqual(parseJsonLossless('{"a": null, "big": 18446744073709551615}', { dropNulls: true }), { big: 18446744073709551615n });
  assert.deepEqual(parseJsonLossless('{"a": null}'), { a: null });
});

test('parseJsonLossless throws JsonSyntaxError with line and column', () => {
  assert.throws(() => parseJsonLossless('{\n\n  x'), (e: unknown) => e instanceof JsonSyntaxError && e.line === 3 && e.column === 3);
});

test('config: RLIM_INFINITY and null fields (Go zero values) load as runc reads them', () => {
  const c = parseConfigText(
    '{"ociVersion": "1.2.0", "annotations": null, "process": {"cwd": "/", "args": ["sh"], "user": null, "rlimits": [{"type": "RLIMIT_CORE", "hard": 18446744073709551615, "soft": 18446744073709551615}]}}',
  );
  assert.equal(c.annotations, undefined);
  assert.deepEqual(c.process?.user, { uid: 0, gid: 0 });
  assert.equal(c.process?.rlimits?.[0]?.hard, 18446744073709551615n);
});

test('config: a value one past uint64 is refused with its pointer', () => {
  assert.equal(
    invalid('{"ociVersion": "1.2.0", "process": {"cwd": "/", "rlimits": [{"type": "RLIMIT_CORE", "hard": 18446744073709551616, "soft": 0}]}}'),
    'config.json: /process/rlimits/0/hard: must be an integer between 0 and 18446744073709551615',
  );
});

test('parseConfigText names its file', () => {
  assert.throws(() => parseConfigText('{}', 'bundle/config.json'), /^TsruncError: bundle\/config\.json: \/ociVersion: is required$/);
});

test('loadConfig: reads <bundle>/config.json; missing bundle, file, or a directory in its place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrunc-load-'));
  try {
    const err = (f: () => unknown, code: string, message: string) =>
      assert.throws(f, (e: unknown) => e instanceof TsruncError && e.code === code && e.message === message);

    err(() => loadConfig(join(dir, 'nope')), 'not-found', `bundle ${join(dir, 'nope')}: no such directory`);
    err(() => loadConfig(dir), 'not-found', `bundle ${dir}: no config.json`);
    writeFileSync(join(dir, 'file'), '');
    err(() => loadConfig(join(dir, 'file')), 'not-found', `bundle ${join(dir, 'file')}: not a directory`);
    mkdirSync(join(dir, 'config.json'));
    err(() => loadConfig(dir), 'invalid-config', `bundle ${dir}: config.json is a directory`);
    rmSync(join(dir, 'config.json'), { recursive: true });

    writeFileSync(join(dir, 'config.json'), JSON.stringify(BASE));
    assert.deepEqual(loadConfig(dir), BASE);
    writeFileSync(join(dir, 'config.json'), '{"ociVersion": 1}');
    err(() => loadConfig(dir), 'invalid-config', 'config.json: /ociVersion: must be a string');

    if (process.getuid?.() !== 0) {
      chmodSync(join(dir, 'config.json'), 0);
      err(() => loadConfig(dir), 'invalid-config', `${join(dir, 'config.json')}: permission denied`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
