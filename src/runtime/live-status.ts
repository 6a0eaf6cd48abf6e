// The status a container has now: the persisted one, corrected by whether its init still lives.
import { toOciState, type StateFile } from '../spec/state-schema.js';
import { isSameLiveProcess } from '../linux/proc.js';
import type { Status } from './status.js';
import { maybeCgroupDir } from './cgroup.js';
import { isFrozen } from '../linux/cgroups/files.js';

/** Persisted status, except that a dead (or reused) init pid means stopped, and a frozen cgroup paused. */
export function liveStatus(st: StateFile): Status {
  if (st.status === 'stopped') return 'stopped';
  if (st.status === 'creating') return st.pid > 0 && isSameLiveProcess(st.pid, st.pidStartTime) ? 'creating' : 'stopped';
  if (st.pid <= 0 || !isSameLiveProcess(st.pid, st.pidStartTime)) return 'stopped';
  if (st.status === 'running') {
    const dir = maybeCgroupDir(st);
    if (dir !== null && isFrozen(dir)) return 'paused';
  }
  return st.status;
}

/** The OCI state of a container, in runc's field order (pid 0 once stopped). */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** The OCI state `state` prints: runc leaves `owner` empty there (`list` names the user). */
export function ociState(st: StateFile, status: Status = liveStatus(st)): OciState {
  return { ...toOciState(st, status), owner: '' };
}
