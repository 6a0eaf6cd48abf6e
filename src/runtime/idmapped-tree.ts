// The parent's half of an idmapped mount. The child clones the source in its own mount namespace
// (a detached tree may only be attached where it was cloned) and hands the tree over; the parent
// idmaps it (only a caller privileged over the host's user namespace may) through a user namespace
// that exists only for its maps: a child cloned into it waits for a "go" that never comes, its maps
// are written, an fd of the namespace is taken, the child is killed (runc makes them the same way).
import { openSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import * as native from '../native/index.js';
import { writeIdMapsDirect } from '../linux/id-maps.js';
import type { IdmapTree } from '../linux/build-plan.js';

const CLONE_NEWUSER = 0x10000000;

function what(t: IdmapTree): string {
  return `config.json: ${t.op.origin.pointer} (${t.op.origin.what ?? t.op.target})`;
}

/** An fd of a new user namespace with `t`'s maps; the caller closes it. Root only (maps written directly). */
export function mappedUserNamespace(t: IdmapTree): number {
  const holder = native.spawn({ newNamespaces: CLONE_NEWUSER, joinNamespaces: [], preserveFds: 0, startSocketPath: '', ops: [] });
  try {
    writeIdMapsDirect(holder.pid, { uid: t.uidMappings, gid: t.gidMappings, writer: 'direct', denySetgroups: false });
    return openSync(`/proc/${holder.pid}/ns/user`, 'r');
  } catch (e) {
    throw new TsruncError('init-failed', `${what(t)}: the user namespace of its idmap: ${(e as Error).message}`, { cause: e });
  } finally {
    native.abort(holder);
  }
}

/** Idmaps the tree the child handed over for `t` through `userns`. */
export function idmapTree(tree: number, t: IdmapTree, userns: number): void {
  native.idmapTree(tree, userns, t.recursive, t.attrSet, t.attrClr, what(t));
}
