// The one interface the three cgroup drivers (systemd, cgroupfs, disabled) share: place a new
// container's init in its cgroup, change its limits, remove the cgroup. "No cgroups" is a driver too.
import type { LinuxResources } from '../../spec/schema.js';

export type DriverName = 'systemd' | 'cgroupfs' | 'disabled';

/** What the state file records about a container's cgroup (spec/state-schema.ts `cgroup`). */
export interface CgroupRecord {
  driver: DriverName;
  /** Path in the cgroup2 hierarchy, e.g. "/user.slice/…/tsrunc-abc.scope". */
  path?: string;
  /** The systemd unit, for the systemd driver. */
  unit?: string;
}

/** What a new container asks of its cgroup. */
export interface PlaceRequest {
  id: string;
  resources: LinuxResources | undefined;
  annotations: Record<string, string> | undefined;
}

/** Where the init went, and what could not be applied (controllers this host lacks…). */
export interface Placement {
  record: CgroupRecord;
  warnings: string[];
}

export interface CgroupDriver {
  readonly name: DriverName;
  /**
   * Before the init exists: where its cgroup will be in the hierarchy (null when unknown), and for
   * systemd the manager's own cgroup (a manager can only move processes out of cgroups below it).
   */
  prepare(req: PlaceRequest): Promise<{ path: string | null; managerCgroup?: string }>;
  /** Moves `pid` (the init, still waiting for "go") into a new cgroup and applies the limits. */
  place(pid: number, req: PlaceRequest): Promise<Placement>;
  /** Changes the limits of a container's cgroup; resolves to warnings about what was not applied. */
  update(record: CgroupRecord, resources: LinuxResources): Promise<string[]>;
  /** Removes a container's cgroup (its processes are killed first when any are left). */
  destroy(record: CgroupRecord): Promise<void>;
  /** Releases what the driver holds open (the bus connection). */
  close(): void;
}
