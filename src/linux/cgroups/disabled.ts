// The disabled driver: no cgroup at all. Allowed only for a config that asks for no limits (the caller
// checks that and prints one warning); every operation that needs a cgroup says so clearly.
import { TsruncError } from '../../errors.js';
import type { CgroupDriver, Placement } from './types.js';

export class DisabledDriver implements CgroupDriver {
  readonly name = 'disabled' as const;

  async prepare(): Promise<{ path: null }> {
    return { path: null };
  }

  async place(): Promise<Placement> {
    return { record: { driver: 'disabled' }, warnings: [] };
  }

  async update(): Promise<string[]> {
    throw new TsruncError('cgroup', 'this container has no cgroup (it was created without one): its limits cannot be changed');
  }

  async destroy(): Promise<void> {}

  close(): void {}
}
