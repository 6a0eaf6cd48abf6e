// `tsrunc doctor` inside a real systemd --user session (../shared/testenv/user-session.sh): the user bus
// answers with systemd's version, cgroup v2 is mounted, the caller's cgroup is its own; and with the
// bus address pointing at a dead socket (what a stopped user manager leaves) the bus is a problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runtimeEnv, tsruncBin, requireSession } from './harness.js';

interface Check {
  id: string;
  status: 'ok' | 'warning' | 'problem';
  detail: string;
  fix?: string;
}

function managerVersion(): string | null {
  const r = spawnSync('systemctl', ['--user', 'show', '-p', 'Version', '--value'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
}

function doctor(env: NodeJS.ProcessEnv): { code: number | null; byId: Map<string, Check> } {
  const r = spawnSync(tsruncBin(), ['doctor', '--format', 'json'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.stderr, '');
  const rep = JSON.parse(r.stdout) as { checks: Check[] };
  return { code: r.status, byId: new Map(rep.checks.map((c) => [c.id, c])) };
}

test('in a user session: the bus answers with the manager\'s version, cgroup v2, a cgroup of our own', (t) => {
  if (!requireSession(t)) return;
  const { byId } = doctor(runtimeEnv());
  const bus = byId.get('user-bus')!;
  assert.equal(bus.status, 'ok');
  assert.equal(bus.detail, `${process.env.DBUS_SESSION_BUS_ADDRESS!.replace(/^unix:path=/, '')}: systemd ${managerVersion()}`);
  assert.equal(byId.get('cgroup-mode')!.status, 'ok');
  assert.match(byId.get('cgroup-mode')!.detail, /^cgroup v2 at \/sys\/fs\/cgroup$/);
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  assert.equal(byId.get('own-cgroup')!.status, 'ok');
  assert.match(byId.get('own-cgroup')!.detail, new RegExp(`^${own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  // This host's memory, pids, cpu and io controllers stay on cgroup v1 (../shared/TESTING.md).
  // Read where systemd makes the containers' scopes: the user manager's own cgroup.
  const uid = process.getuid!();
  const manager = `/user.slice/user-${uid}.slice/user@${uid}.service`;
  const controllers = readFileSync(`/sys/fs/cgroup${manager}/cgroup.controllers`, 'utf8').trim();
  assert.match(byId.get('controllers')!.detail, new RegExp(`^${controllers === '' ? 'none' : controllers} \\(in ${manager.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
  const complete = ['cpu', 'io', 'memory', 'pids'].every((c) => controllers.split(' ').includes(c));
  assert.equal(byId.get('controllers')!.status, complete ? 'ok' : 'warning');
  if (!complete) assert.match(byId.get('controllers')!.fix!, /Delegate=cpu cpuset io memory pids/);
});

test('in a user session with the bus address pointing at a dead socket: a problem, with the fix', (t) => {
  if (!requireSession(t)) return;
  const { code, byId } = doctor(runtimeEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }));
  assert.equal(code, 1);
  const bus = byId.get('user-bus')!;
  assert.equal(bus.status, 'problem');
  // The manager's own socket still answers: the address is what is wrong.
  assert.equal(bus.fix, 'unset DBUS_SESSION_BUS_ADDRESS');
});
