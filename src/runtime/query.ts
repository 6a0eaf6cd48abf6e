// `state` and `list`: read-only views of the state root (no lock: state files are replaced atomically).
import { isTsruncError } from '../errors.js';
import type { Context } from './context.js';
import { ociState, type OciState } from './live-status.js';
import { recordedExit } from './wait.js';
import type { ExitStatus, StateFile } from '../spec/state-schema.js';

/** The OCI state, plus how it ended for a stopped container whose exit was recorded (by its monitor,
 * or `run --keep`): a field runc does not have. */
export type ContainerState = OciState & { exitStatus?: ExitStatus };

/** The OCI state of container `id`. */
export function containerState(ctx: Context, id: string): ContainerState {
  return withExit(ctx, ctx.store.load(id));
}

function withExit(ctx: Context, st: StateFile): ContainerState {
  const oci = ociState(st);
  const exit = oci.status === 'stopped' ? recordedExit(ctx, st) : undefined;
  return exit !== undefined ? { ...oci, exitStatus: exit } : oci;
}

/** Every container with its state and owner, skipping ones that vanish while we read. */
export function listContainers(ctx: Context): (ContainerState & { ownerName: string })[] {
  const out: (ContainerState & { ownerName: string })[] = [];
  for (const id of ctx.store.ids()) {
    try {
      const st = ctx.store.load(id);
      out.push({ ...withExit(ctx, st), ownerName: st.owner });
    } catch (e) {
      if (!isTsruncError(e, 'not-found')) throw e;
    }
  }
  return out;
}
