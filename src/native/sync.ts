// The child -> parent records of the sync socket (helpers/sync.c has the protocol diagram) and their
// decoding. Pure: no koffi here.

/** A message from the child, as nextMessage() returns it. */
export type ChildMessage =
  | { type: 'ready' }
  /**
   * An op failed: `index` is the op's index in the plan; -1 is the child's own setup (`step` says which:
   * 'unshare', 'clone3', 'setsid', 'dup2'…); <= -2 is joinNamespaces[-index - 2] (step 'setns').
   */
  | { type: 'error'; index: number; errno: number; step: string }
  /** A `sync` or `hook-point` op; a hook point also hands over its namespace fds (`nsMask` bit i =
   * HOOK_NAMESPACES[i]; the caller owns and closes `fds`). */
  | { type: 'sync'; tag: number; nsMask?: number; fds?: number[] }
  /** The seccomp op `index` loaded a program with a listener: its fd follows (native.recvListenerFd), then the child waits for "go". */
  | { type: 'seccomp'; index: number }
  /** The child cloned the tree of idmap-mount op `index`; its fd follows in a record of its own. */
  | { type: 'idmap'; index: number }
  | { type: 'eof' };

/** A record as it arrives, including the internal PID record of the double fork. */
export type RawMessage = ChildMessage | { type: 'pid'; pid: number };

/** Record types: struct tsr_msg.type in helpers/plan.h. */
export const MSG_READY = 1;
export const MSG_ERROR = 2;
export const MSG_SYNC = 3;
export const MSG_PID = 4;
export const MSG_SECCOMP = 5;
export const MSG_IDMAP = 6;

/** sizeof(struct tsr_msg): u32 type, i32 index, i32 errno, i32 value, char step[16]. */
export const MSG_SIZE = 32;
const STEP_OFFSET = 16;

/** Decodes one record of `n` bytes (0 = EOF). */
export function decodeMessage(buf: Uint8Array, n: number): RawMessage {
  if (n === 0) return { type: 'eof' };
  if (n !== MSG_SIZE) throw new Error(`sync socket: record of ${n} bytes, expected ${MSG_SIZE}`);
  const v = new DataView(buf.buffer, buf.byteOffset, MSG_SIZE);
  const type = v.getUint32(0, true);
  const index = v.getInt32(4, true);
  const errno = v.getInt32(8, true);
  const value = v.getInt32(12, true);
  switch (type) {
    case MSG_READY:
      return { type: 'ready' };
    case MSG_ERROR: {
      const raw = buf.subarray(STEP_OFFSET, MSG_SIZE);
      const end = raw.indexOf(0);
      const step = new TextDecoder().decode(raw.subarray(0, end < 0 ? raw.length : end));
      return { type: 'error', index, errno, step };
    }
    case MSG_SYNC:
      return { type: 'sync', tag: value };
    case MSG_PID:
      return { type: 'pid', pid: value };
    case MSG_SECCOMP:
      return { type: 'seccomp', index };
    case MSG_IDMAP:
      return { type: 'idmap', index };
    default:
      throw new Error(`sync socket: unknown record type ${type}`);
  }
}
