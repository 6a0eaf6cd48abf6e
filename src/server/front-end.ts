// The server's side of one front end connection as a Spawner: the front end clones the call's inits
// (remote spawn, helpers/remote.c), so they are the caller's children, and reports their exits.
import { native } from '../native/binding.js';
import { spawnVia } from '../native/index.js';
import type { SpawnRequest, Spawned } from '../native/plan.js';
import { CallerGone, type CallerSpawner } from '../runtime/call.js';
import { encodeRecord, exitOfStatus, FE_EXITED, SV_HOLD, SV_WAIT } from './protocol.js';

/** Resolves when `fd` is readable, hung up, or (a pidfd) its process exited. */
export function readable(fd: number, timeoutMs = -1): Promise<boolean> {
  return new Promise((resolve, reject) => {
    native().pollInAsync(fd, timeoutMs, (err, r) => (err ? reject(err) : r < 0 ? reject(new Error(`poll: errno ${-r}`)) : resolve(r > 0)));
  });
}

export class FrontEnd implements CallerSpawner {
  constructor(private readonly conn: number) {}

  /** Sends one record; false when the front end is gone. */
  send(record: Uint8Array): boolean {
    return native().sendRecord(this.conn, record, record.byteLength) === 0;
  }

  spawn(req: SpawnRequest, hold: { root: string; id: string }): Spawned {
    this.send(encodeRecord(SV_HOLD, [], [hold.root, hold.id]));
    return spawnVia(this.conn, req);
  }

  /**
   * The exit of the init the front end cloned, as it reaps it. When the front end goes away first (it was
   * killed), the container goes on and keeps its state, as it does when runc's foreground run is killed.
   */
  async wait(s: Spawned): Promise<{ code: number; signal: number | null }> {
    if (this.send(encodeRecord(SV_WAIT, [s.pid]))) {
      await readable(this.conn);
      const buf = new Uint8Array(12);
      const fds = new Int32Array(1);
      const n = native().recvFds(this.conn, buf, buf.length, 0, fds, 0);
      const view = new DataView(buf.buffer);
      if (n === 12 && view.getUint32(0, true) === FE_EXITED && view.getInt32(4, true) === s.pid) return exitOfStatus(view.getInt32(8, true));
    }
    throw new CallerGone(`the caller of run went away; container process ${s.pid} goes on`);
  }
}
