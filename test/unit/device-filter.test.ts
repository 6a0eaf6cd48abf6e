// The device cgroup filter: cgroup v1's rule semantics (reduceDeviceRules), the rules runc always adds
// (deviceRules), and the compiled BPF program, run here by a small interpreter of the opcodes it uses
// (the kernel's verifier and the real filter are exercised by test/integration/devices.root.test.ts).
import test from 'node:test';
import assert from 'node:assert/strict';
import { compileDeviceFilter, deviceFilterFor, deviceRules, reduceDeviceRules, type DeviceRule } from '../../src/linux/cgroups/device-filter.js';
import type { Config } from '../../src/spec/schema.js';

/** Runs a device program on one access: type 'b'|'c', access letters, major, minor; true = allowed. */
function runFilter(prog: Uint8Array, type: 'b' | 'c', access: string, major: number, minor: number): boolean {
  const buf = Buffer.from(prog.buffer, prog.byteOffset, prog.byteLength);
  const acc = [...access].reduce((m, c) => m | ({ m: 1, r: 2, w: 4 } as Record<string, number>)[c]!, 0);
  const ctx = [(acc << 16) | (type === 'b' ? 1 : 2), major, minor];
  const r = new Array<number>(11).fill(0);
  let pc = 0;
  for (let steps = 0; steps < 10_000; steps++) {
    assert.ok(pc >= 0 && pc * 8 < buf.length, `pc ${pc} out of the program`);
    const code = buf.readUInt8(pc * 8);
    const dst = buf.readUInt8(pc * 8 + 1) & 0xf;
    const src = buf.readUInt8(pc * 8 + 1) >> 4;
    const off = buf.readInt16LE(pc * 8 + 2);
    const imm = buf.readInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x61:
        assert.equal(src, 1, 'loads only from the context');
        r[dst] = ctx[off / 4]!;
        break;
      case 0x57:
        r[dst] = r[dst]! & imm;
        break;
      case 0x77:
        r[dst] = r[dst]! >>> imm;
        break;
      case 0xb7:
        r[dst] = imm;
        break;
      case 0xbf:
        r[dst] = r[src]!;
        break;
      case 0x55:
        if (r[dst] !== imm) pc += off;
        break;
      case 0x5d:
        if (r[dst] !== r[src]) pc += off;
        break;
      case 0x95:
        return r[0] === 1;
      default:
        assert.fail(`unexpected opcode 0x${code.toString(16)}`);
    }
  }
  assert.fail('the program does not end');
}

const rule = (allow: boolean, type: DeviceRule['type'], major: number, minor: number, access: string): DeviceRule => ({ allow, type, major, minor, access });

test('device rules: "a" resets the default, exceptions add up and are taken away exactly', () => {
  assert.deepEqual(reduceDeviceRules([]), { defaultAllow: false, exceptions: [] });
  assert.deepEqual(reduceDeviceRules([rule(true, 'a', -1, -1, 'rwm')]), { defaultAllow: true, exceptions: [] });
  const s = reduceDeviceRules([
    rule(true, 'c', 1, 3, 'r'),
    rule(false, 'a', -1, -1, 'rwm'), // forgets 1:3
    rule(true, 'c', 1, 5, 'r'),
    rule(true, 'c', 1, 5, 'w'),
    rule(true, 'c', 1, 9, 'rwm'),
    rule(false, 'c', 1, 9, 'wm'),
    rule(false, 'c', 1, 7, 'rwm'), // nothing to take away
    rule(true, 'b', 8, -1, 'mr'),
    rule(false, 'b', 8, -1, 'rm'),
  ]);
  assert.deepEqual(s, { defaultAllow: false, exceptions: [{ type: 'c', major: 1, minor: 5, access: 'rw' }, { type: 'c', major: 1, minor: 9, access: 'r' }] });
  const black = reduceDeviceRules([rule(true, 'a', -1, -1, 'rwm'), rule(false, 'b', -1, -1, 'rw'), rule(false, 'c', 4, 2, 'w')]);
  assert.deepEqual(black, { defaultAllow: true, exceptions: [{ type: 'b', major: -1, minor: -1, access: 'rw' }, { type: 'c', major: 4, minor: 2, access: 'w' }] });
});

test('device filter: the compiled program answers as the rules say', () => {
  const white = compileDeviceFilter(reduceDeviceRules([rule(true, 'c', 1, 3, 'rw'), rule(true, 'c', 136, -1, 'rwm'), rule(true, 'b', -1, -1, 'm')]));
  assert.equal(runFilter(white, 'c', 'r', 1, 3), true);
  assert.equal(runFilter(white, 'c', 'rw', 1, 3), true);
  assert.equal(runFilter(white, 'c', 'm', 1, 3), false, 'mknod is not in "rw"');
  assert.equal(runFilter(white, 'b', 'r', 1, 3), false, 'the type is checked');
  assert.equal(runFilter(white, 'c', 'r', 1, 4), false, 'the minor is checked');
  assert.equal(runFilter(white, 'c', 'w', 136, 7), true, 'any minor');
  assert.equal(runFilter(white, 'b', 'm', 8, 0), true, 'mknod of any block device');
  assert.equal(runFilter(white, 'b', 'r', 8, 0), false, 'but not reading it');
  assert.equal(runFilter(white, 'c', 'r', 5, 1), false);

  const black = compileDeviceFilter(reduceDeviceRules([rule(true, 'a', -1, -1, 'rwm'), rule(false, 'b', 8, -1, 'rw')]));
  assert.equal(runFilter(black, 'b', 'r', 8, 1), false);
  assert.equal(runFilter(black, 'b', 'm', 8, 1), true);
  assert.equal(runFilter(black, 'c', 'rw', 8, 1), true);
});

test("device filter of a config: containerd's rules plus runc's defaults; as many instructions as checks", () => {
  const config = {
    ociVersion: '1.0.2',
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }] },
      devices: [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }],
    },
  } as unknown as Config;
  const rules = deviceRules(config);
  assert.deepEqual(rules[0], { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' });
  const prog = deviceFilterFor(config)!;
  assert.equal(runFilter(prog, 'c', 'rw', 10, 229), true, "the config's rule");
  assert.equal(runFilter(prog, 'c', 'm', 10, 229), true, 'mknod of anything (runc allows it)');
  assert.equal(runFilter(prog, 'c', 'rw', 1, 9), true, '/dev/urandom is always allowed');
  assert.equal(runFilter(prog, 'c', 'rw', 5, 2), true, '/dev/ptmx');
  assert.equal(runFilter(prog, 'c', 'rw', 136, 3), true, '/dev/pts/3');
  assert.equal(runFilter(prog, 'b', 'rw', 8, 0), true, 'a device of linux.devices');
  assert.equal(runFilter(prog, 'b', 'rw', 8, 16), false, 'another disk');
  assert.equal(runFilter(prog, 'c', 'r', 1, 1), false, '/dev/mem');

  // A program of exactly 6 + 2 instructions when nothing is an exception (deny everything).
  assert.equal(compileDeviceFilter({ defaultAllow: false, exceptions: [] }).byteLength, 8 * 8);
  // Allowing everything needs no program at all (runc's allow rules take nothing away from it).
  assert.equal(deviceFilterFor({ ociVersion: '1.0.2', linux: { resources: { devices: [{ allow: true, access: 'rwm' }] } } } as unknown as Config), null);
});
