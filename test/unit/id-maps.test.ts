import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planIdMaps, formatIdMap, helperHint, type MapFacts } from '../../src/linux/id-maps.js';
import { TsruncError } from '../../src/errors.js';

const helpers = { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' };
const ranged: MapFacts = { rootless: true, uid: 1000, gid: 1000, subUids: [{ start: 100000, count: 65536 }], subGids: [{ start: 100000, count: 65536 }], helpers };
const user = { uid: 0, gid: 0 };

function fails(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof TsruncError && re.test(e.message), String(re));
}

test('no mappings + ranges + helpers: full automatic mapping through the helpers, setgroups allowed', () => {
  const p = planIdMaps({}, user, ranged);
  assert.equal(p.writer, 'helpers');
  assert.equal(p.denySetgroups, false);
  assert.equal(p.notice, undefined);
  assert.equal(formatIdMap(p.uid), '0 1000 1\n1 100000 65536\n');
});

test('no helpers or no ranges: the single own-ID mapping, written directly, with a notice saying how to fix it', () => {
  const noHelpers = planIdMaps({}, user, { ...ranged, helpers: null });
  assert.equal(noHelpers.writer, 'direct');
  assert.equal(noHelpers.denySetgroups, true);
  assert.match(noHelpers.notice ?? '', /newuidmap\/newgidmap are not installed.*apt-get install uidmap/);
  const noRanges = planIdMaps({}, user, { ...ranged, subUids: [] });
  assert.match(noRanges.notice ?? '', /no range in \/etc\/subuid.*usermod --add-subuids/);
  assert.equal(formatIdMap(noRanges.uid), '0 1000 1\n');
});

test('the config\'s own-ID mapping is written directly even when helpers exist', () => {
  const own = [{ containerID: 0, hostID: 1000, size: 1 }];
  const p = planIdMaps({ uidMappings: own, gidMappings: own }, user, ranged);
  assert.equal(p.writer, 'direct');
  assert.equal(p.denySetgroups, true);
});

test('bad mappings are refused before anything starts, naming the field and the allowed ranges', () => {
  const own = [{ containerID: 0, hostID: 1000, size: 1 }];
  fails(() => planIdMaps({ uidMappings: [{ containerID: 0, hostID: 0, size: 1 }], gidMappings: own }, user, ranged), /\/linux\/uidMappings\/0: host IDs 0-0 are not yours to map \(allowed: 1000, 100000-165535\)/);
  fails(() => planIdMaps({ uidMappings: own, gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 0, hostID: 100000, size: 2 }] }, user, ranged), /\/linux\/gidMappings\/1: container IDs overlap/);
  fails(() => planIdMaps({ uidMappings: own, gidMappings: own }, { uid: 5, gid: 0 }, ranged), /\/process\/user\/uid: 5 is not mapped/);
  fails(() => planIdMaps({ uidMappings: own, gidMappings: own }, { uid: 0, gid: 0, additionalGids: [0, 7] }, ranged), /\/process\/user\/additionalGids\/1: 7 is not mapped/);
  fails(() => planIdMaps({ uidMappings: own }, user, ranged), /\/linux\/gidMappings: required/);
  const wide = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 10 }];
  fails(() => planIdMaps({ uidMappings: wide, gidMappings: wide }, user, { ...ranged, helpers: null }), /needs newuidmap and newgidmap/);
});

test('root maps anything directly but must give mappings', () => {
  const rootFacts: MapFacts = { rootless: false, uid: 0, gid: 0, subUids: [], subGids: [], helpers: null };
  const m = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const p = planIdMaps({ uidMappings: m, gidMappings: m }, user, rootFacts);
  assert.equal(p.writer, 'direct');
  assert.equal(p.denySetgroups, false);
  fails(() => planIdMaps({}, user, rootFacts), /needs mappings when running as root/);
});

test('helper failures get a hint that fixes the host', () => {
  assert.match(helperHint('/usr/bin/newuidmap', 'newuidmap: write to uid_map failed: Operation not permitted'), /chmod u\+s/);
  assert.match(helperHint('/usr/bin/newuidmap', 'newuidmap: uid range [0-1) -> [0-1) not allowed'), /usermod --add-subuids/);
});
