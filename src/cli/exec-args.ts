// runc stops reading flags at the container id of `exec`: `exec ID sh -c 'echo hi'` runs `sh -c …`.
// cac would take "-c" as a flag, so a "--" is put after the id before parsing. Pure.

/** Global flags that take a value (`--rootless` takes an optional one). */
const GLOBAL_VALUE = new Set(['--root', '--log', '--log-format']);
/** exec flags that take a value. */
const EXEC_VALUE = new Set(['--process', '-p', '--pid-file', '--env', '-e', '--cwd', '--user', '-u', '--additional-gids', '-g', '--cap', '-c', '--preserve-fds', '--console-socket', '--process-label', '--apparmor', '--cgroup']);

/**
 * Long boolean flags with a dash: cac 7 camel-cases their names before handing them to mri as booleans,
 * so mri takes the next word (the container id) as their value; "=true" keeps it.
 */
const EXEC_DASHED_BOOLEAN = new Set(['--ignore-paused']);

/** The index of the command word in argv (after node, the script and the global flags before it). */
export function commandIndex(argv: string[]): number {
  let i = 2;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    const a = argv[i]!;
    if (GLOBAL_VALUE.has(a)) i += 2;
    else if (a === '--rootless' && ['true', 'false', 'auto'].includes(argv[i + 1] ?? '')) i += 2;
    else i += 1;
  }
  return i;
}

/** argv with "--" inserted after exec's container id (unchanged for other commands or when present). */
export function splitExecArgs(argv: string[]): string[] {
  let i = commandIndex(argv);
  if (argv[i] !== 'exec') return argv;
  const out = argv.slice(0, i + 1);
  i += 1;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') return argv;
    if (!a.startsWith('-') || a === '-') break;
    const n = EXEC_VALUE.has(a) ? 2 : 1;
    out.push(EXEC_DASHED_BOOLEAN.has(a) ? `${a}=true` : a, ...argv.slice(i + 1, i + n));
    i += n;
  }
  if (i + 1 >= argv.length) return [...out, ...argv.slice(i)];
  // argv[i] is the container id; everything after it is the command.
  if (argv[i + 1] === '--') return [...out, ...argv.slice(i)];
  return [...out, argv[i]!, '--', ...argv.slice(i + 1)];
}
