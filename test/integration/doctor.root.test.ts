// `tsrunc doctor` driven by root: as root itself (rootless-only checks do not apply), and as a
// throwaway system user with no /etc/subuid or /etc/subgid range, which only root can arrange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runtimeEnv, tsruncBin } from './harness.js';

interface Check {
  id: string;
  status: 'ok' | 'warning' | 'problem';
  detail: string;
  fix?: string;
}

function parse(stdout: string): Map<string, Check> {
  const rep = JSON.parse(stdout) as { checks: Check[] };
  return new Map(rep.checks.map((c) => [c.id, c]));
}

/** A user with no subordinate ranges (the same one userns.root.test.ts uses; created once, kept). */
function userWithoutRanges(): { name: string; uid: number; gid: number } {
  const name = 'tsrunc-noranges';
  if (spawnSync('id', [name]).status !== 0) {
    // A system user: useradd gives ordinary users subordinate ranges by default.
    assert.equal(spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]).status, 0);
  }
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    assert.ok(!readFileSync(f, 'utf8').split('\n').some((l) => l.startsWith(`${name}:`)), `${name} must have no range in ${f}`);
  }
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid, gid };
}

/** The first ID above every range in both files (what the fix must propose). */
function nextFree(): number {
  let next = 100000;
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    for (const l of readFileSync(f, 'utf8').split('\n')) {
      const [, s, c] = l.split(':');
      if (s !== undefined && c !== undefined && !l.startsWith('#')) next = Math.max(next, Number(s) + Number(c));
    }
  }
  return next;
}

if (process.getuid?.() === 0) {
  test('as root, the rootless-only checks say they do not apply, and this machine has no problem', () => {
    const r = spawnSync(tsruncBin(), ['doctor', '--format', 'json'], { env: runtimeEnv(), encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.stderr, '');
    const byId = parse(r.stdout);
    assert.equal(byId.size, 20);
    for (const id of ['subuid', 'subgid', 'runtime-dir', 'linger']) {
      assert.equal(byId.get(id)!.status, 'ok');
      assert.match(byId.get(id)!.detail, /not (needed|used) as root/);
    }
    assert.equal(byId.get('userns')!.status, 'ok');
    assert.deepEqual([...byId.values()].filter((c) => c.status === 'problem'), []);
    assert.equal(r.status, 0);
  });

  test('a user without subordinate ranges: subuid and subgid are problems, with the usermod that fixes them', () => {
    const u = userWithoutRanges();
    const readable = spawnSync('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', 'test', '-r', join(repoRoot(), 'dist', 'tsrunc.js')]);
    assert.equal(readable.status, 0, `${repoRoot()} must be readable by ${u.name}`);
    const r = spawnSync(
      'setpriv',
      ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', tsruncBin(), 'doctor', '--format', 'json'],
      { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/' }, timeout: 30_000 },
    );
    assert.equal(r.stderr, '');
    assert.equal(r.status, 1);
    const byId = parse(r.stdout);
    const n = nextFree();
    for (const kind of ['subuid', 'subgid']) {
      const c = byId.get(kind)!;
      assert.equal(c.status, 'problem');
      assert.equal(c.detail, `no range for ${u.name} in /etc/${kind}: only your own ID can be mapped`);
      assert.equal(c.fix, `sudo usermod --add-subuids ${n}-${n + 65535} --add-subgids ${n}-${n + 65535} ${u.name}`);
    }
    // No login session either: no runtime directory of its own.
    assert.equal(byId.get('runtime-dir')!.status, 'problem');
    assert.match(byId.get('runtime-dir')!.fix!, new RegExp(`log in as ${u.name}`));
  });
}
