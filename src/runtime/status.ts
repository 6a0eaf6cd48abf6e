// The container status and the rules of its transitions (which command may act in which status).
import { TsruncError } from '../errors.js';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** `start` needs a created container, as in runc. */
export function assertCanStart(id: string, status: Status): void {
  if (status !== 'created') {
    throw new TsruncError('invalid-state', `container "${id}" is ${status}: cannot start a container that is not created`);
  }
}

/**
 * Signals go to created, running and paused containers; runc refuses a stopped one with "container not
 * running", words containerd's shim looks for to report the process as already finished.
 */
export function assertCanKill(id: string, status: Status): void {
  if (status === 'stopped' || status === 'creating') {
    throw new TsruncError('invalid-state', `cannot kill container "${id}": container not running (it is ${status})`);
  }
}

/** Without --force, only stopped and created containers may be deleted (runc kills a created one). */
export function assertCanDelete(id: string, status: Status, force: boolean): void {
  if (force || status === 'stopped' || status === 'created') return;
  throw new TsruncError(
    'invalid-state',
    `container "${id}" is ${status}: cannot delete a container that is not stopped`,
    { hint: 'use `delete --force` to kill it first' },
  );
}
