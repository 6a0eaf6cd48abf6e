// runc's `events` statistics from cgroup v2 files (src/linux/cgroups/stats.ts). The first case is a
// real one: the files of a container in the cgroup v2 VM and what runc 1.1.5 printed for them there.
import test from 'node:test';
import assert from 'node:assert/strict';
import { runcStats, goJson, parseFlatKeyed, parseIoStat, U64_MAX, type FileReader } from '../../src/linux/cgroups/stats.js';

const files = (m: Record<string, string>): FileReader => (f) => m[f] ?? null;
const event = (read: FileReader, hugepageSizes: string[] = [], processCount = () => 0) => goJson({ type: 'stats', id: 'r1', data: runcStats({ read, hugepageSizes, processCount }) });

/** memory.stat of that container (in reverse order: runc prints a Go map, sorted by key). */
const MEMORY_STAT = "zswpout 0\nzswpin 0\nzswapped 0\nzswap 0\nworkingset_restore_file 0\nworkingset_restore_anon 0\nworkingset_refault_file 0\nworkingset_refault_anon 0\nworkingset_nodereclaim 0\nworkingset_activate_file 0\nworkingset_activate_anon 0\nvmalloc 0\nunevictable 0\nthp_fault_alloc 1\nthp_collapse_alloc 0\nswapcached 0\nsock 0\nslab_unreclaimable 120264\nslab_reclaimable 176360\nslab 296624\nshmem_thp 0\nshmem 0\nsec_pagetables 0\npgsteal_kswapd 0\npgsteal_direct 0\npgsteal 0\npgscan_kswapd 0\npgscan_direct 0\npgscan 0\npgrefill 0\npgmajfault 0\npglazyfreed 0\npglazyfree 0\npgfault 855\npgdeactivate 0\npgactivate 0\npercpu 1184\npagetables 20480\nkernel_stack 16384\nkernel 356352\ninactive_file 4194304\ninactive_anon 45056\nfile_writeback 0\nfile_thp 0\nfile_mapped 0\nfile_dirty 0\nfile 4194304\nanon_thp 0\nanon 49152\nactive_file 0\nactive_anon 4096\n";

/** What runc 1.1.5 printed (`runc events --stats r1`, cgroupfs driver as root in the VM). */
const RUNC_1_1_5 = "{\"type\":\"stats\",\"id\":\"r1\",\"data\":{\"cpu\":{\"usage\":{\"total\":258850000,\"kernel\":174054000,\"user\":84795000},\"throttling\":{\"periods\":6,\"throttledPeriods\":1,\"throttledTime\":39481000}},\"cpuset\":{\"cpu_exclusive\":0,\"mem_hardwall\":0,\"mem_exclusive\":0,\"memory_migrate\":0,\"memory_spread_page\":0,\"memory_spread_slab\":0,\"memory_pressure\":0,\"sched_load_balance\":0,\"sched_relax_domain_level\":0},\"memory\":{\"cache\":4194304,\"usage\":{\"limit\":67108864,\"usage\":4599808,\"failcnt\":0},\"swap\":{\"limit\":134217728,\"usage\":4599808,\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},\"kernelTCP\":{\"limit\":0,\"failcnt\":0},\"raw\":{\"active_anon\":4096,\"active_file\":0,\"anon\":49152,\"anon_thp\":0,\"file\":4194304,\"file_dirty\":0,\"file_mapped\":0,\"file_thp\":0,\"file_writeback\":0,\"inactive_anon\":45056,\"inactive_file\":4194304,\"kernel\":356352,\"kernel_stack\":16384,\"pagetables\":20480,\"percpu\":1184,\"pgactivate\":0,\"pgdeactivate\":0,\"pgfault\":855,\"pglazyfree\":0,\"pglazyfreed\":0,\"pgmajfault\":0,\"pgrefill\":0,\"pgscan\":0,\"pgscan_direct\":0,\"pgscan_kswapd\":0,\"pgsteal\":0,\"pgsteal_direct\":0,\"pgsteal_kswapd\":0,\"sec_pagetables\":0,\"shmem\":0,\"shmem_thp\":0,\"slab\":296624,\"slab_reclaimable\":176360,\"slab_unreclaimable\":120264,\"sock\":0,\"swapcached\":0,\"thp_collapse_alloc\":0,\"thp_fault_alloc\":1,\"unevictable\":0,\"vmalloc\":0,\"workingset_activate_anon\":0,\"workingset_activate_file\":0,\"workingset_nodereclaim\":0,\"workingset_refault_anon\":0,\"workingset_refault_file\":0,\"workingset_restore_anon\":0,\"workingset_restore_file\":0,\"zswap\":0,\"zswapped\":0,\"zswpin\":0,\"zswpout\":0}},\"pids\":{\"current\":1,\"limit\":50},\"blkio\":{\"ioServiceBytesRecursive\":[{\"major\":254,\"op\":\"Read\"},{\"major\":254,\"op\":\"Write\",\"value\":4194304}],\"ioServicedRecursive\":[{\"major\":254,\"op\":\"Read\"},{\"major\":254,\"op\":\"Write\",\"value\":4}]},\"hugetlb\":{\"1GB\":{\"failcnt\":0},\"2MB\":{\"failcnt\":0}},\"intel_rdt\":{},\"network_interfaces\":null}}";

test('the files of a real container give exactly what runc 1.1.5 printed for them', () => {
  const read = files({
    'cpu.stat': 'usage_usec 258850\nuser_usec 84795\nsystem_usec 174054\nnr_periods 6\nnr_throttled 1\nthrottled_usec 39481\nnr_bursts 0\nburst_usec 0\n',
    'memory.stat': MEMORY_STAT,
    'memory.current': '4599808\n',
    'memory.max': '67108864\n',
    'memory.peak': '6176768\n',
    'memory.swap.current': '0\n',
    'memory.swap.max': '67108864\n',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
    'io.stat': '254:0 rbytes=0 wbytes=4194304 rios=0 wios=4 dbytes=0 dios=0\n',
    'pids.current': '1\n',
    'pids.max': '50\n',
    'hugetlb.2MB.current': '0\n',
    'hugetlb.2MB.events': 'max 0\n',
    'hugetlb.1GB.current': '0\n',
    'hugetlb.1GB.events': 'max 0\n',
  });
  assert.equal(event(read, ['2MB', '1GB']), RUNC_1_1_5);
});

test('no memory, pids or io controller (this host\'s cgroup2): zeros where runc has them, pids counted', () => {
  const read = files({ 'cpu.stat': 'usage_usec 10\nuser_usec 4\nsystem_usec 6\n' });
  const data = JSON.parse(event(read, [], () => 3)).data as Record<string, unknown>;
  assert.deepEqual(data.cpu, { usage: { total: 10000, kernel: 6000, user: 4000 }, throttling: {} });
  const zero = { limit: 0, failcnt: 0 };
  assert.deepEqual(data.memory, { usage: zero, swap: zero, kernel: zero, kernelTCP: zero });
  assert.deepEqual(data.pids, { current: 3 });
  assert.deepEqual([data.blkio, data.hugetlb, data.intel_rdt, data.network_interfaces], [{}, {}, {}, null]);
  assert.deepEqual(Object.keys(data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
  // Nothing at all (a cgroup gone while read): still the whole shape.
  assert.deepEqual(JSON.parse(event(files({}))).data.cpu, { usage: { kernel: 0, user: 0 }, throttling: {} });
});

test('"max" is 2^64-1 written exactly; swap adds memory as runc does, wrapping like Go\'s uint64', () => {
  const base = { 'memory.stat': 'file 0\n', 'memory.current': '100\n', 'memory.swap.current': '5\n', 'pids.current': '2\n', 'pids.max': 'max\n' };
  const json = goJson(runcStats({ read: files({ ...base, 'memory.max': 'max\n', 'memory.swap.max': 'max\n' }), hugepageSizes: [], processCount: () => 0 }));
  assert.match(json, /"usage":\{"limit":18446744073709551615,"usage":100,"failcnt":0\},"swap":\{"limit":18446744073709551615,"usage":105,"failcnt":0\}/);
  const stats = (mem: string, swap: string) => runcStats({ read: files({ ...base, 'memory.max': mem, 'memory.swap.max': swap }), hugepageSizes: [], processCount: () => 0 });
  assert.equal(stats('1000\n', '0\n').memory.swap.limit, 1000n, 'no swap: the memory limit');
  assert.equal(stats('max\n', '0\n').memory.swap.limit, U64_MAX, 'unlimited memory, no swap');
  assert.equal(stats('max\n', '10\n').memory.swap.limit, 9n, 'Go wraps 10 + (2^64-1)');
  assert.deepEqual(stats('max\n', 'max\n').pids, { current: 2n }, 'pids.max "max" is limit 0, left out');
  // no swap accounting (memory.swap.current absent): an empty entry
  const noSwap = runcStats({ read: files({ 'memory.stat': '', 'memory.current': '7', 'memory.max': '9' }), hugepageSizes: [], processCount: () => 0 });
  assert.deepEqual(noSwap.memory.swap, { limit: 0n, failcnt: 0n });
  assert.deepEqual(noSwap.memory.usage, { limit: 9n, usage: 7n, failcnt: 0n });
  assert.equal(noSwap.memory.raw, undefined, 'an empty memory.stat leaves raw out (omitempty)');
});

test('io.stat maps onto cgroup v1\'s tables; discards and malformed entries are left out', () => {
  const io = parseIoStat('8:16 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=512 dios=1\n259:0 rbytes=1 wbytes=2 rios=3 wios=4\nbogus\n8:0 rbytes=x wbytes\n');
  assert.equal(
    goJson(io),
    '{"ioServiceBytesRecursive":[{"major":8,"minor":16,"op":"Read","value":4096},{"major":8,"minor":16,"op":"Write"},{"major":259,"op":"Read","value":1},{"major":259,"op":"Write","value":2}],' +
      '"ioServicedRecursive":[{"major":8,"minor":16,"op":"Read","value":1},{"major":8,"minor":16,"op":"Write"},{"major":259,"op":"Read","value":3},{"major":259,"op":"Write","value":4}]}',
  );
  assert.deepEqual(parseIoStat(''), {});
});

test('flat-keyed files: "max", and lines that are not "key value" are skipped', () => {
  assert.deepEqual([...parseFlatKeyed('a 1\nb max\nc\nd 1 2\ne -3\n\n').entries()], [['a', 1n], ['b', U64_MAX]]);
  assert.deepEqual([...parseFlatKeyed(null).entries()], []);
});

test('hugetlb: one entry a page size (sorted), usage when there is some, failcnt from events "max"', () => {
  const read = files({ 'hugetlb.2MB.current': '4194304\n', 'hugetlb.2MB.events': 'max 3\n', 'hugetlb.1GB.current': '0\n' });
  assert.equal(goJson(runcStats({ read, hugepageSizes: ['2MB', '1GB'], processCount: () => 0 }).hugetlb), '{"1GB":{"failcnt":0},"2MB":{"usage":4194304,"failcnt":3}}');
});
