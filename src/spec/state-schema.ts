// The state file tsrunc keeps per container (<root>/<id>/state.json), and the OCI state `tsrunc state`
// prints. Schemas are built on first use.
import * as z from 'zod';
import { NAMESPACE_TYPES } from './schema.js';

export const STATUSES = ['creating', 'created', 'running', 'stopped'] as const;
export type ContainerStatus = (typeof STATUSES)[number];
/** What `state` and `list` report: a running container whose cgroup is frozen is `paused` (runc's word). */
export const OCI_STATUSES = [...STATUSES, 'paused'] as const;
export type OciStatus = (typeof OCI_STATUSES)[number];

/** RFC 3339 with optional fractional seconds of any precision (runc writes nanoseconds). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

type Iss = { input?: unknown };
const msg = (reason: string) => (iss: Iss) => (iss.input === undefined ? 'is required' : reason);
const str = () => z.string({ error: msg('must be a string') });
const timestamp = () => str().regex(RFC3339, { error: 'must be an RFC 3339 timestamp' });
const pid = () => z.number({ error: msg('must be a process id') }).int({ error: 'must be a process id' }).min(0, { error: 'must be a process id' });
const u32 = () => z.number({ error: msg('must be an integer') }).int({ error: 'must be an integer' }).min(0).max(0xffffffff);
const idMap = () => z.array(z.object({ containerID: u32(), hostID: u32(), size: u32() }), { error: msg('must be an array') });

function build() {
  const exitStatus = z.object(
    {
      /** Exit code when the process exited, null when a signal killed it. */
      code: z.number().int().nullable(),
      /** The signal number that killed it, null when it exited. */
      signal: z.number().int().nullable(),
      /** When tsrunc saw it end. */
      at: timestamp(),
    },
    { error: msg('must be an object') },
  );

  // Loose: fields a newer tsrunc adds survive a read-modify-write by an older one.
  const stateFile = z.looseObject(
    {
      ociVersion: str(),
      id: str().min(1, { error: 'must not be empty' }),
      /** Container init's pid in tsrunc's pid namespace; 0 before it exists. */
      pid: pid(),
      /** Field 22 of /proc/<pid>/stat when the init was created: a reused pid never passes for it. */
      pidStartTime: str(),
      status: z.enum(STATUSES, { error: msg(`must be one of ${STATUSES.join(', ')}`) }),
      /** Absolute bundle directory. */
      bundle: str(),
      /** Absolute rootfs path. */
      rootfs: str(),
      created: timestamp(),
      /** Name of the user who created it ("" as root, like runc). */
      owner: str(),
      annotations: z.record(z.string(), z.string(), { error: msg('must be an object of strings') }).optional(),
      /** Created without root privileges. */
      rootless: z.boolean({ error: msg('must be true or false') }),
      exitStatus: exitStatus.optional(),
      /** Namespaces of the init: type and, for joined ones, the path given in the config. */
      namespaces: z.array(z.object({ type: z.enum(NAMESPACE_TYPES), path: str().optional() })).optional(),
      /** The id maps actually written for a new user namespace (what `exec` must enter). */
      uidMappings: idMap().optional(),
      gidMappings: idMap().optional(),
      /** Where the container's cgroup is and which driver made it. */
      cgroup: z
        .object({
          driver: z.enum(['systemd', 'cgroupfs', 'disabled']),
          /** Absolute path below the cgroup2 mount, e.g. "/user.slice/…/tsrunc-abc.scope". */
          path: str().optional(),
          /** systemd unit name, for the systemd driver. */
          unit: str().optional(),
        })
        .optional(),
      /** The process that stays with a detached container (stdio, exit status), with its start time
       * and the log it writes the container's output to (`run -d --output`). */
      monitor: z.object({ pid: pid(), startTime: str(), output: str().optional() }).optional(),
      /** The poststop hooks have run (the monitor's exit step): `delete` does not run them again. */
      poststopRan: z.boolean().optional(),
      /** The container's resctrl group (linux.intelRdt), and whether delete removes it (not a closID one). */
      intelRdt: z.object({ dir: str(), remove: z.boolean() }).optional(),
      /** Config fields of the init's ops after the start barrier, by op index: `start` names a failure there. */
      startOps: z.array(z.object({ index: z.number().int().min(0), pointer: str(), what: str().optional() })).optional(),
      /** The config's hooks that run after create (poststart at start, poststop at delete), kept verbatim. */
      hooks: z.record(z.string(), z.unknown()).optional(),
    },
    { error: msg('must be an object') },
  );

  /** The OCI state (runtime.md "State"), as `runc state` prints it. */
  const ociState = z.object({
    ociVersion: str(),
    id: str(),
    pid: pid(),
    status: z.enum(OCI_STATUSES),
    bundle: str(),
    rootfs: str(),
    created: str(),
    owner: str(),
    annotations: z.record(z.string(), z.string()).optional(),
  });

  return { stateFile, ociState, exitStatus };
}

type Schemas = ReturnType<typeof build>;
let cached: Schemas | undefined;

function schemas(): Schemas {
  return (cached ??= build());
}

/** Schema of tsrunc's per-container state file. */
export function stateFileSchema(): Schemas['stateFile'] {
  return schemas().stateFile;
}

/** Schema of an exit status (the state file's, and the monitor's exit.json). */
export function exitStatusSchema(): Schemas['exitStatus'] {
  return schemas().exitStatus;
}

/** Schema of the OCI state JSON. */
export function ociStateSchema(): Schemas['ociState'] {
  return schemas().ociState;
}

export type StateFile = z.output<Schemas['stateFile']>;
export type ExitStatus = z.output<Schemas['exitStatus']>;
export type OciStateJson = z.output<Schemas['ociState']>;

/**
 * The OCI state of a container in runc's field order (ociVersion, id, pid, status, bundle, rootfs,
 * created, owner, annotations when there are any), from its state file and its live status. As runc
 * does, the pid reads 0 once the container is stopped.
 */
export function toOciState(st: StateFile, status: OciStatus = st.status): OciStateJson {
  const out: OciStateJson = {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: status === 'stopped' ? 0 : st.pid,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: st.owner,
  };
  if (st.annotations !== undefined && Object.keys(st.annotations).length > 0) out.annotations = st.annotations;
  return out;
}
