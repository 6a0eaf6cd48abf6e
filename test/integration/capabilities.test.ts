// Capabilities: the five sets (CapInh/CapPrm/CapEff/CapBnd/CapAmb of /proc/self/status) must equal
// runc's for the same bundle, across configs that exercise each rule: the bounding set dropped first,
// ambient only where inheritable and permitted allow, unknown names warned and skipped, caps kept
// across the switch to a non-root user.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { cleanup, expectSame, missingPrerequisites, IS_ROOT, SELF, type Spec, type SpecCapabilities } from './harness.js';

const CAP_LINES = ['sh', '-c', 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status'];

const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
/**
 * The capabilities a container can have here: as root, what this host's bounding set still has (a
 * sandboxed VM may lack some, e.g. CAP_SYS_RESOURCE); in a new user namespace, every one.
 */
const HOST_BND = IS_ROOT ? BigInt('0x' + (/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0')) : (1n << 41n) - 1n;
const HOST_CAPS = ALL_CAPS.filter((_, bit) => (HOST_BND >> BigInt(bit)) & 1n);
const HOST_HEX = HOST_BND.toString(16).padStart(16, '0');
/** The first subordinate range of the test user in /etc/subuid or /etc/subgid (CI gives it one). */
function subRange(file: string): { start: number; size: number } {
  const me = userInfo();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [who, start, size] = line.split(':');
    if (who === me.username || who === String(me.uid)) return { start: Number(start), size: Number(size) };
  }
  throw new Error(`no range for ${me.username} in ${file}`);
}
const SOME = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID'];

interface Case {
  name: string;
  caps: SpecCapabilities | undefined;
  user?: { uid: number; gid: number };
  /** Extra check of runc's output (the expectation itself, so the case can fail). */
  expect?: RegExp;
  /** tsrunc must warn on stderr (unknown names). */
  warns?: RegExp;
  /** Both runtimes must fail (a capability the host cannot grant). */
  fails?: boolean;
}

const CASES: Case[] = [
  { name: 'the default set of runc spec', caps: 'default' as unknown as undefined },
  { name: 'an empty object: no capability at all', caps: {}, expect: /CapEff:\s+0000000000000000\nCapBnd:\s+0000000000000000/ },
  { name: 'every capability the host has, in every set', caps: { bounding: HOST_CAPS, effective: HOST_CAPS, permitted: HOST_CAPS, inheritable: HOST_CAPS, ambient: HOST_CAPS }, expect: new RegExp(`CapAmb:\\s+${HOST_HEX}`) },
  { name: 'a capability the host lacks: both refuse', caps: { bounding: ALL_CAPS, effective: ALL_CAPS, permitted: ALL_CAPS }, fails: HOST_CAPS.length < ALL_CAPS.length },
  { name: 'bounding only', caps: { bounding: ALL_CAPS }, expect: new RegExp(`CapPrm:\\s+0{16}\nCapEff:\\s+0{16}\nCapBnd:\\s+${HOST_HEX}`) },
  { name: 'ambient with inheritable and permitted', caps: { bounding: SOME, effective: SOME, permitted: SOME, inheritable: SOME, ambient: ['CAP_KILL', 'CAP_CHOWN'] }, expect: /CapAmb:\s+0000000000000021/ },
  { name: 'ambient without inheritable is skipped', caps: { bounding: SOME, effective: SOME, permitted: SOME, ambient: ['CAP_KILL'] }, expect: /CapAmb:\s+0000000000000000/ },
  { name: 'a capability permitted and effective but not in the bounding set', caps: { bounding: ['CAP_KILL'], effective: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: [], ambient: [] } },
  {
    name: 'unknown names are warned about and skipped',
    caps: { bounding: ['CAP_KILL', 'CAP_BOGUS'], effective: ['CAP_KILL', 'CAP_NOPE'], permitted: ['CAP_KILL', 'cap_kill'], inheritable: ['CAP_KILL', 'KILL'], ambient: ['CAP_KILL', 'CAP_WHATEVER'] },
    expect: /CapAmb:\s+0000000000000020/,
    warns: /unknown capability "CAP_BOGUS"/,
  },
  { name: 'a non-root user keeps its capabilities across setuid, ambient raised', caps: { bounding: SOME, effective: SOME, permitted: SOME, inheritable: SOME, ambient: SOME }, user: { uid: 65534, gid: 65534 }, expect: /CapEff:\s+00000000000004e1/ },
  { name: 'a non-root user without ambient loses its effective set at exec', caps: { bounding: SOME, effective: SOME, permitted: SOME, inheritable: SOME }, user: { uid: 65534, gid: 65534 }, expect: /CapEff:\s+0000000000000000/ },
  { name: 'no capabilities object: nothing is dropped', caps: undefined },
];

describe('capabilities: the five sets equal runc\'s', { skip: missingPrerequisites() }, () => {
  afterEach(cleanup);
  after(cleanup);

  for (const k of CASES) {
    test(k.name, async () => {
      const { runc, tsrunc } = await expectSame({
        args: CAP_LINES,
        mutate: (c: Spec) => {
          if ((k.caps as unknown) !== 'default') {
            if (k.caps === undefined) delete c.process!.capabilities;
            else c.process!.capabilities = k.caps;
          }
          if (k.user !== undefined) {
            c.process!.user = { ...c.process!.user, ...k.user };
            // Rootless: map the user through the test user's subordinate range (newuidmap), as both runtimes do.
            if (!IS_ROOT) {
              const own = (m: { hostID: number }[] | undefined) => m?.[0]?.hostID ?? 0;
              const u = subRange('/etc/subuid');
              const g = subRange('/etc/subgid');
              c.linux!.uidMappings = [{ containerID: 0, hostID: own(c.linux!.uidMappings), size: 1 }, { containerID: 1, hostID: u.start, size: Math.min(u.size, 65536) }];
              c.linux!.gidMappings = [{ containerID: 0, hostID: own(c.linux!.gidMappings), size: 1 }, { containerID: 1, hostID: g.start, size: Math.min(g.size, 65536) }];
            }
          }
        },
      });
      if (k.fails === true) {
        assert.notEqual(runc.code, 0);
        assert.equal(tsrunc.stderr.trim().split('\n').length, 1, tsrunc.stderr);
        return;
      }
      assert.equal(runc.code, 0, runc.stderr);
      assert.equal(runc.stdout.split('\n').filter(Boolean).length, 5, runc.stdout);
      if (k.expect !== undefined) assert.match(runc.stdout, k.expect);
      if (k.warns !== undefined && !SELF) {
        assert.match(tsrunc.stderr, k.warns);
        for (const name of ['CAP_NOPE', 'cap_kill', 'KILL', 'CAP_WHATEVER']) assert.match(tsrunc.stderr, new RegExp(`unknown capability "${name}"`));
      }
    });
  }
});
