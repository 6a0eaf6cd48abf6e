// exec cases that only root can run: supplementary groups need setgroups(2), which a single-ID user
// namespace (the rootless suite's bundles) denies.
import { after, describe, test } from 'node:test';
import { cleanup, missingPrerequisites } from './harness.js';
import { sameExec } from './exec-helpers.js';

describe('exec (root)', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  test('--additional-gids, as runc', async () => {
    await sameExec([['--additional-gids', '10', '--additional-gids', '20', 'ID', 'id', '-G'], ['-u', '1:1', '-g', '5', 'ID', 'id']]);
  });
});
