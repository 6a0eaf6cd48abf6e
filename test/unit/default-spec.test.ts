import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSpec } from '../../src/spec/default-spec.js';
import { toRootless } from '../../src/spec/rootless.js';
import { parseConfigText } from '../../src/spec/load.js';
import { checkConfig, unsupportedFields } from '../../src/spec/validate.js';
import { OCI_SPEC_VERSION, type Config } from '../../src/spec/schema.js';

// `runc spec` and `runc spec --rootless` of runc 1.1.5 (Debian 12), byte for byte, run as root (so the
// rootless mappings carry host id 0).
const RUNC_SPEC = `{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}`;

const RUNC_SPEC_ROOTLESS = `{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "none",
			"source": "/sys",
			"options": [
				"rbind",
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"uidMappings": [
			{
				"containerID": 0,
				"hostID": 0,
				"size": 1
			}
		],
		"gidMappings": [
			{
				"containerID": 0,
				"hostID": 0,
				"size": 1
			}
		],
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "user"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}`;

const tabs = (v: unknown) => JSON.stringify(v, null, '\t');

test("runc's own spec parses with the schema and re-serialises byte for byte", () => {
  const parsed = parseConfigText(RUNC_SPEC);
  assert.equal(tabs(parsed), RUNC_SPEC);
  assert.equal(tabs(parseConfigText(RUNC_SPEC_ROOTLESS)), RUNC_SPEC_ROOTLESS);
});

test("runc's spec passes validation", () => {
  assert.deepEqual(checkConfig(parseConfigText(RUNC_SPEC)), { errors: [], warnings: [] });
  assert.deepEqual(checkConfig(parseConfigText(RUNC_SPEC_ROOTLESS)), { errors: [], warnings: [] });
});

test("toRootless turns runc's spec into exactly what `runc spec --rootless` writes", () => {
  const spec = parseConfigText(RUNC_SPEC);
  assert.equal(tabs(toRootless(spec, { uid: 0, gid: 0 })), RUNC_SPEC_ROOTLESS);
});

test('defaultSpec is runc spec with ociVersion 1.2.0, hostname tsrunc, no resources (a terminal, as runc)', () => {
  const runc = JSON.parse(RUNC_SPEC) as Record<string, any>;
  runc.ociVersion = OCI_SPEC_VERSION;
  runc.hostname = 'tsrunc';
  delete runc.linux.resources;
  assert.equal(tabs(defaultSpec()), tabs(runc));
  assert.equal(defaultSpec().ociVersion, '1.2.0');
});

test('defaultSpec passes the schema unchanged, validation, and has nothing unsupported', () => {
  const spec = defaultSpec();
  assert.deepEqual(parseConfigText(JSON.stringify(spec)), spec);
  assert.deepEqual(checkConfig(spec), { errors: [], warnings: [] });
  assert.deepEqual(unsupportedFields(spec, { uid: 0, gid: 0 }), []);
});

test('defaultSpec returns a fresh object each time', () => {
  const a = defaultSpec();
  a.process!.args!.push('x');
  a.mounts!.pop();
  assert.deepEqual(defaultSpec().process!.args, ['sh']);
  assert.equal(defaultSpec().mounts!.length, 7);
});

const EXPECTED_ROOTLESS: Config = {
  ociVersion: '1.2.0',
  process: {
    terminal: true,
    user: { uid: 0, gid: 0 },
    args: ['sh'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
    cwd: '/',
    capabilities: {
      bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
  },
  root: { path: 'rootfs', readonly: true },
  hostname: 'tsrunc',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ],
  linux: {
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }],
    namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }],
    maskedPaths: [
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/sys/firmware',
      '/proc/scsi',
    ],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  },
};

test('toRootless(defaultSpec()) is the expected rootless config, key order included', () => {
  const r = toRootless(defaultSpec(), { uid: 1000, gid: 1001 });
  assert.deepEqual(r, EXPECTED_ROOTLESS);
  assert.equal(tabs(r), tabs(EXPECTED_ROOTLESS));
});

test('the rootless default spec validates and is supported for its own user', () => {
  const r = toRootless(defaultSpec(), { uid: 1000, gid: 1001 });
  assert.deepEqual(checkConfig(r), { errors: [], warnings: [] });
  assert.deepEqual(unsupportedFields(r, { uid: 1000, gid: 1001 }), []);
});

test('toRootless does not modify its input', () => {
  const spec = defaultSpec();
  const before = tabs(spec);
  toRootless(spec, { uid: 5, gid: 5 });
  assert.equal(tabs(spec), before);
});

test('toRootless: an existing user namespace and mappings are replaced, not duplicated', () => {
  const spec = defaultSpec();
  spec.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const r = toRootless(spec, { uid: 7, gid: 8 });
  assert.deepEqual(r.linux!.namespaces, [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }]);
  assert.deepEqual(r.linux!.uidMappings, [{ containerID: 0, hostID: 7, size: 1 }]);
  assert.deepEqual(r.linux!.gidMappings, [{ containerID: 0, hostID: 8, size: 1 }]);
});

test('toRootless: any mount at /sys (however spelled) becomes the rbind; uid=/gid= options go everywhere', () => {
  const spec: Config = {
    ociVersion: '1.2.0',
    mounts: [
      { destination: '/sys/', type: 'sysfs', source: 'sysfs' },
      { destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['uid=1', 'gid=2'] },
      { destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['uid=1', 'size=1k', 'gid=2'] },
      { destination: '/sys/kernel', type: 'none', source: '/sys/kernel', options: ['rbind'] },
    ],
  };
  const r = toRootless(spec, { uid: 1, gid: 1 });
  assert.deepEqual(r.mounts, [
    { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/data', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['size=1k'] },
    { destination: '/sys/kernel', type: 'none', source: '/sys/kernel', options: ['rbind'] },
  ]);
  assert.ok(!('options' in r.mounts![1]!));
});

test('toRootless: a config without linux gets one with the user namespace; resources and network go', () => {
  assert.deepEqual(toRootless({ ociVersion: '1.2.0' }, { uid: 3, gid: 4 }).linux, {
    uidMappings: [{ containerID: 0, hostID: 3, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 4, size: 1 }],
    namespaces: [{ type: 'user' }],
  });
  const r = toRootless(
    { ociVersion: '1.2.0', linux: { resources: { pids: { limit: 10 } }, namespaces: [{ type: 'network', path: '/run/netns/x' }], sysctl: { 'kernel.shmmax': '1' } } },
    { uid: 3, gid: 4 },
  );
  assert.deepEqual(Object.keys(r.linux!), ['uidMappings', 'gidMappings', 'namespaces', 'sysctl']);
  assert.equal(r.linux!.resources, undefined);
  assert.deepEqual(r.linux!.namespaces, [{ type: 'user' }]);
});

test('toRootless keeps bigint values (structuredClone, not JSON)', () => {
  const spec = defaultSpec();
  spec.process!.rlimits = [{ type: 'RLIMIT_CORE', hard: 18446744073709551615n, soft: 18446744073709551615n }];
  assert.equal(toRootless(spec, { uid: 1, gid: 1 }).process!.rlimits![0]!.hard, 18446744073709551615n);
});
