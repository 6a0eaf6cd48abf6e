// Doctor checks for user namespaces: the sysctls that forbid them, actually creating one, the setuid
// helpers newuidmap/newgidmap, and the caller's subordinate ID ranges.
import type { IdRange } from '../subid.js';
import { errnoName, verdict, who } from './format.js';
import type { DoctorFacts, MapHelperFacts, Verdict } from './types.js';

const CAP_SETGID = 6;
const CAP_SETUID = 7;
/** What most images need: IDs 0…65535 inside the container. */
export const FULL_RANGE = 65536;

/** Unprivileged user namespaces: allowed by the sysctls, and really creatable. */
export function checkUserNamespaces(f: DoctorFacts): Verdict {
  const title = 'user namespaces';
  const s = f.sysctl;
  if (s.maxUserNamespaces === 0) {
    return verdict('userns', title, 'problem', 'user.max_user_namespaces is 0',
      "sudo sysctl -w user.max_user_namespaces=15000 && echo user.max_user_namespaces=15000 | sudo tee /etc/sysctl.d/50-userns.conf");
  }
  if (s.unprivilegedUsernsClone === 0 && !f.isRoot) {
    return verdict('userns', title, 'problem', 'kernel.unprivileged_userns_clone is 0 (Debian\'s switch is off)',
      'sudo sysctl -w kernel.unprivileged_userns_clone=1 && echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/50-userns.conf');
  }
  const limit = s.maxUserNamespaces === null ? '' : `max_user_namespaces=${s.maxUserNamespaces}; `;
  if (f.usernsProbe === 0) return verdict('userns', title, 'ok', `${limit}creating one works`);
  if (f.usernsProbe === null) {
    return verdict('userns', title, 'warning', `${limit}could not try to create one (the native library is not built)`, 'npm run build');
  }
  const why = errnoName(f.usernsProbe);
  if (s.apparmorRestrictUserns === 1) {
    return verdict('userns', title, 'problem', `creating one fails (${why}): AppArmor restricts unprivileged user namespaces`,
      'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give node an AppArmor profile with "userns,")');
  }
  if (f.usernsProbe === -28) {
    return verdict('userns', title, 'problem', `creating one fails (ENOSPC): the limit of ${s.maxUserNamespaces ?? '?'} user namespaces is reached`,
      'sudo sysctl -w user.max_user_namespaces=15000');
  }
  const nested = f.nestedHints.length > 0 ? ' (inside another container: its seccomp profile or capabilities may forbid it)' : '';
  return verdict('userns', title, 'problem', `creating one fails (${why})${nested}`,
    f.nestedHints.length > 0 ? 'run the outer container with user namespaces allowed (e.g. docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined)' : 'sudo sysctl -w user.max_user_namespaces=15000');
}

/** newuidmap or newgidmap: on PATH and able to write maps (setuid root, or the capability). */
export function checkMapHelper(f: DoctorFacts, name: 'newuidmap' | 'newgidmap'): Verdict {
  const h: MapHelperFacts = f[name];
  if (h.path === null) {
    if (f.isRoot) return verdict(name, name, 'ok', 'not installed; not needed as root (maps are written directly)');
    return verdict(name, name, 'problem', 'not found in PATH: only your own ID can be mapped',
      'sudo apt-get install uidmap (Fedora: sudo dnf install shadow-utils)');
  }
  if (h.setuidRoot) return verdict(name, name, 'ok', `${h.path} (setuid root)`);
  const cap = name === 'newuidmap' ? CAP_SETUID : CAP_SETGID;
  const capName = name === 'newuidmap' ? 'cap_setuid' : 'cap_setgid';
  if (h.fileCaps !== null && (h.fileCaps & (1 << cap)) !== 0) return verdict(name, name, 'ok', `${h.path} (file capability ${capName})`);
  if (f.isRoot) return verdict(name, name, 'ok', `${h.path} is neither setuid nor ${capName}; not needed as root`);
  const caps = h.fileCaps === null ? 'file capabilities unknown' : `no ${capName} file capability`;
  return verdict(name, name, 'problem', `${h.path} is not setuid root (${caps}): it cannot write maps`,
    `sudo setcap ${capName}+ep ${h.path} (or sudo chmod u+s ${h.path})`);
}

/** The caller's /etc/subuid or /etc/subgid ranges and how many IDs they give. */
export function checkSubIds(f: DoctorFacts, kind: 'subuid' | 'subgid'): Verdict {
  const ranges = f[kind];
  const file = `/etc/${kind}`;
  const total = ranges.reduce((n, r) => n + r.count, 0);
  if (f.isRoot) return verdict(kind, kind, 'ok', ranges.length === 0 ? 'no range; not needed as root' : `${describeRanges(ranges)}; not needed as root`);
  const fix = `sudo usermod --add-subuids ${f.nextFreeSubId}-${f.nextFreeSubId + FULL_RANGE - 1} --add-subgids ${f.nextFreeSubId}-${f.nextFreeSubId + FULL_RANGE - 1} ${who(f)}`;
  if (ranges.length === 0) return verdict(kind, kind, 'problem', `no range for ${who(f)} in ${file}: only your own ID can be mapped`, fix);
  if (total < FULL_RANGE) {
    return verdict(kind, kind, 'warning', `${describeRanges(ranges)}: ${total} IDs, fewer than the ${FULL_RANGE} most images need`, fix);
  }
  return verdict(kind, kind, 'ok', `${describeRanges(ranges)} (${total} IDs)`);
}

/** "100000:65536, 300000:1000". */
export function describeRanges(ranges: IdRange[]): string {
  return ranges.map((r) => `${r.start}:${r.count}`).join(', ');
}

/** The first ID above every range of every user in /etc/subuid- and /etc/subgid-style texts (≥ 100000). */
export function nextFreeSubId(...texts: string[]): number {
  let next = 100000;
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim().startsWith('#')) continue;
      const [, start, count] = line.trim().split(':');
      const end = Number(start) + Number(count);
      if (Number.isSafeInteger(end) && end > next) next = end;
    }
  }
  return next;
}
