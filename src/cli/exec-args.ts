// runc stops reading flags at the container id of `exec`: `exec ID sh -c 'echo hi'` runs `sh -c …`.
// cac would take "-c" as a flag, so a "--" is put after the id before parsing. Pure.

/** Global flags that take a value (`--rootless` takes an optional one). */
const GLOBAL_VALUE = new Set(['--root', '--log', '--log-format']);
/** exec flags that take a value. */
const EXEC_VALUE = new Set(['--process', '-p', '--pid-file', '--env', '-e', '--cwd', '--user', '-u', '--additional-gids', '-g', '--cap', '-c', '--preserve-fds', '--console-socket', '--process-label', '--apparmor', '--cgroup']);

/** argv with "--" inserted after exec's container id (unchanged for other commands or when present). */
export function splitExecArgs(argv: string[]): string[] {
  let i = 2;
  // Global flags before the command.
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    const a = argv[i]!;
    if (GLOBAL_VALUE.has(a)) i += 2;
    else if (a === '--rootless' && ['true', 'false', 'auto'].includes(argv[i + 1] ?? '')) i += 2;
    else i += 1;
  }
  if (argv[i] !== 'exec') return argv;
  i += 1;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') return argv;
    if (!a.startsWith('-') || a === '-') break;
    i += EXEC_VALUE.has(a) ? 2 : 1;
  }
  if (i + 1 >= argv.length) return argv;
  // argv[i] is the container id; everything after it is the command.
  if (argv[i + 1] === '--') return argv;
  return [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)];
}
