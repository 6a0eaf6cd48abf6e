import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSubIdFile, parseGetsubids, autoMappings, mappingProblem, isMapped } from '../../src/linux/subid.js';

const file = '# comment\nalice:100000:65536\n1001:300000:1000\nbob:200000:65536\nalice:500000:10\nbroken\nalice:x:5\n';

test('ranges are matched by name and by uid, several per user', () => {
  assert.deepEqual(parseSubIdFile(file, 'alice', 1000), [{ start: 100000, count: 65536 }, { start: 500000, count: 10 }]);
  assert.deepEqual(parseSubIdFile(file, 'carol', 1001), [{ start: 300000, count: 1000 }]);
  assert.deepEqual(parseSubIdFile(file, undefined, 1234), []);
});

test('getsubids output is parsed', () => {
  assert.deepEqual(parseGetsubids('0: alice 100000 65536\n1: alice 500000 10\n'), [{ start: 100000, count: 65536 }, { start: 500000, count: 10 }]);
  assert.deepEqual(parseGetsubids('Error: no ranges\n'), []);
});

test('automatic mappings put the caller at 0 and the ranges after it', () => {
  assert.deepEqual(autoMappings(1000, [{ start: 100000, count: 65536 }, { start: 500000, count: 10 }]), [
    { containerID: 0, hostID: 1000, size: 1 },
    { containerID: 1, hostID: 100000, size: 65536 },
    { containerID: 65537, hostID: 500000, size: 10 },
  ]);
  assert.deepEqual(autoMappings(1000, []), [{ containerID: 0, hostID: 1000, size: 1 }]);
});

test('mappings outside the caller\'s ranges, overlapping, or empty are refused with the allowed ranges', () => {
  const ranges = [{ start: 100000, count: 65536 }];
  assert.equal(mappingProblem(autoMappings(1000, ranges), 1000, ranges), null);
  assert.match(mappingProblem([{ containerID: 0, hostID: 0, size: 1 }], 1000, ranges) ?? '', /0: host IDs 0-0 are not yours to map \(allowed: 1000, 100000-165535\)/);
  assert.match(mappingProblem([{ containerID: 0, hostID: 100000, size: 65537 }], 1000, ranges) ?? '', /not yours/);
  assert.match(mappingProblem([{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 0, hostID: 100000, size: 5 }], 1000, ranges) ?? '', /1: container IDs overlap mapping 0/);
  assert.match(mappingProblem([{ containerID: 0, hostID: 100000, size: 5 }, { containerID: 10, hostID: 100002, size: 5 }], 1000, ranges) ?? '', /1: host IDs overlap mapping 0/);
  assert.match(mappingProblem([{ containerID: 0, hostID: 1000, size: 0 }], 1000, ranges) ?? '', /size must be at least 1/);
});

test('isMapped looks at container IDs', () => {
  const maps = autoMappings(1000, [{ start: 100000, count: 100 }]);
  assert.equal(isMapped(maps, 0), true);
  assert.equal(isMapped(maps, 100), true);
  assert.equal(isMapped(maps, 101), false);
});
