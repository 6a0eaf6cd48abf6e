// `state` and `list`: read-only views of the state root (no lock: state files are replaced atomically).
import { isTsruncError } from '../errors.js';
import type { Context } from './context.js';
import { ociState, type OciState } from './live-status.js';

/** The OCI state of container `id`. */
export function containerState(ctx: Context, id: string): OciState {
  return ociState(ctx.store.load(id));
}

/** Every container with its state and owner, skipping ones that vanish while we read. */
export function listContainers(ctx: Context): (OciState & { ownerName: string })[] {
  const out: (OciState & { ownerName: string })[] = [];
  for (const id of ctx.store.ids()) {
    try {
      const st = ctx.store.load(id);
      out.push({ ...ociState(st), ownerName: st.owner });
    } catch (e) {
      if (!isTsruncError(e, 'not-found')) throw e;
    }
  }
  return out;
}
