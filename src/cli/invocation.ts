// The runtime-invocation log of --debug: one line per call saying what an engine asked for (command,
// container id, every flag as given), so that "what did containerd/podman run?" has an answer.

/** Commands whose first argument is a container id. */
const TAKES_ID = new Set(['create', 'start', 'run', 'state', 'kill', 'delete', 'exec', 'pause', 'resume', 'ps', 'events', 'update']);

/** An argument as a shell would need it written. */
function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The log line of one invocation: `argv` are the arguments after the program, `command` the matched
 * command (undefined for none), `args` its positional arguments, `pid` this process.
 */
export function invocationLine(argv: string[], command: string | undefined, args: readonly unknown[], pid: number): { msg: string; fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = { command: command ?? '', pid };
  if (command !== undefined && TAKES_ID.has(command) && typeof args[0] === 'string') fields.id = args[0];
  return { msg: `invoked: tsrunc ${argv.map(quote).join(' ')}`, fields };
}
