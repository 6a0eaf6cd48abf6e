// tsrunc doctor [--format text|json]: checks this host and caller for (rootless) readiness and prints
// one line per check — ok, warning or problem, with the command that fixes it. Exit 1 on any problem.
import { TsruncError } from '../errors.js';
import { out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  if (args.length > 0) throw new TsruncError('invalid-argument', `doctor: unexpected argument "${args[0]}"`);
  const format = String(flags.format ?? 'text');
  if (format !== 'text' && format !== 'json') throw new TsruncError('invalid-argument', `--format: "${format}" is not one of text, json`);
  const { gatherFacts } = await import('../linux/doctor/facts.js');
  const { runChecks, formatText, formatJson, exitStatus } = await import('../linux/doctor/index.js');
  const verdicts = runChecks(await gatherFacts(process.env));
  out(format === 'json' ? formatJson(verdicts) : formatText(verdicts));
  return exitStatus(verdicts);
}
