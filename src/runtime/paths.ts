// Where state lives: `--root`, else $XDG_RUNTIME_DIR/tsrunc for a rootless caller (env-paths' per-user
// temp directory when that is unset or not the caller's), else /run/tsrunc as root.
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import envPaths from 'env-paths';
import { TsruncError } from '../errors.js';

export interface StateRootChoice {
  root: string;
  /** A line to print when the choice is a fallback the user may not expect. */
  notice?: string;
}

/** Picks the default state root; pure apart from stat()ing XDG_RUNTIME_DIR. */
export function defaultStateRoot(rootless: boolean, env: NodeJS.ProcessEnv, uid: number): StateRootChoice {
  if (!rootless) return { root: '/run/tsrunc' };
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg !== '') {
    const owner = ownerOf(xdg);
    if (owner === uid) return { root: join(xdg, 'tsrunc') };
    const fallback = envPaths('tsrunc', { suffix: '' }).temp;
    return {
      root: fallback,
      notice:
        owner === null
          ? `XDG_RUNTIME_DIR=${xdg} does not exist; keeping state in ${fallback}`
          : `XDG_RUNTIME_DIR=${xdg} belongs to uid ${owner}, not you (after su/sudo?); keeping state in ${fallback}`,
    };
  }
  return { root: envPaths('tsrunc', { suffix: '' }).temp };
}

/**
 * A fallback root under a shared directory such as /tmp must not sit in a directory someone else
 * controls: every component below the sticky shared dir must be ours and not group/world-writable.
 * In a user namespace (podman's) the host's root shows as the overflow uid, as does anyone else
 * outside it: `outsider` is that uid, accepted where root would be if no one else may write there
 * (/run/user above $XDG_RUNTIME_DIR); null outside one.
 */
export function checkPrivateRoot(root: string, uid: number, outsider: number | null = null): void {
  for (let p = root; p !== dirname(p); p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.mode & 0o1000) return; // reached a sticky shared directory such as /tmp
    if (st.uid !== uid && st.uid !== 0 && !(st.uid === outsider && (st.mode & 0o022) === 0)) {
      throw new TsruncError('host-not-ready', `state root ${root}: ${p} belongs to uid ${st.uid}`, {
        hint: 'pass a directory you own with --root',
      });
    }
    if (st.uid === uid && st.mode & 0o022) {
      throw new TsruncError('host-not-ready', `state root ${root}: ${p} is writable by others`, {
        hint: `chmod go-w ${p}`,
      });
    }
  }
}

function ownerOf(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}
