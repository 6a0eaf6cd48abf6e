// One tsrunc command line: parse, run one command, print an error once as one line (the stack only
// with --debug), and give runc's exit code. main.ts runs it for the process; the server for each call.
import { createCLI } from './create-cli.js';
import { log, setupLog, prepareArgv } from './common.js';
import { invocationLine } from './invocation.js';
import { TsruncError } from '../errors.js';
import { CallerGone, currentCall, NeedsOwnProcess } from '../runtime/call.js';
import { err } from './output.js';

/** Runs `argv` (node, script, args…) as the current call; resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const cli = createCLI();
  let parsed;
  try {
    parsed = cli.parse(prepareArgv(cli, argv), { run: false });
    const l = setupLog(parsed.options);
    if (l.debugEnabled) {
      const line = invocationLine(argv.slice(2), cli.matchedCommand?.name, parsed.args, process.pid);
      l.debug(line.msg, line.fields);
    }
  } catch (e) {
    log().error(oneLine(e));
    return 1;
  }
  if (parsed.options.help === true || parsed.options.version === true) return 0;
  if (cli.matchedCommand === undefined) {
    try {
      cli.globalCommand.checkUnknownOptions();
    } catch (e) {
      log().error(oneLine(e));
      return 1;
    }
    if (parsed.args.length > 0) {
      log().error(`unknown command "${String(parsed.args[0])}" (see tsrunc --help)`);
      return 1;
    }
    cli.outputHelp();
    return 0;
  }
  try {
    const code: unknown = await cli.runMatchedCommand();
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof NeedsOwnProcess || e instanceof CallerGone) throw e;
    const l = log();
    // A host, init or cgroup failure without a hint of its own gets the doctor's fix, when it finds one.
    const hint = e instanceof TsruncError ? (e.hint ?? (await (await import('../linux/doctor/index.js')).diagnose(e, currentCall().env))) : undefined;
    l.error(oneLine(e) + (hint !== undefined ? ` (${hint})` : ''));
    if (l.debugEnabled && e instanceof Error && e.stack !== undefined) err(e.stack + '\n');
    return e instanceof TsruncError && e.exitCode !== undefined ? e.exitCode : 1;
  }
}

/** The message of any error, flattened to one line; cac's own errors are rephrased. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .replace(/\s*\n\s*/g, '; ')
    .replace(/^Unknown option `(.*)`$/, (_, flag: string) => `unknown flag ${flag.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
}
