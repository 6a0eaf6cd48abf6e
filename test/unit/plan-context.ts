// A plain PlanContext for the unit tests that build plans: root, no user namespace, every host path a directory.
import type { PlanContext } from '../../src/linux/build-plan.js';

export function planContext(extra: Partial<PlanContext> = {}): PlanContext {
  return {
    bundle: '/b',
    rootfs: '/b/rootfs',
    rootless: false,
    hostHasKcore: true,
    cgroup2Dir: null,
    noPivot: false,
    execUser: { home: '/root' },
    setgroupsDenied: false,
    idMaps: null,
    statHost: () => 'dir',
    ...extra,
  };
}
