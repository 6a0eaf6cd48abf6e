// Builds the cac parser with runc's commands and global flags, without running anything: main.ts
// runs it, unit tests parse with { run: false }. Each command's module is imported only when it runs.
import { cac, type CAC } from 'cac';
import { VERSION, SPEC_VERSION } from '../version.js';

/** Parsed global flags (runc's). */
export interface GlobalFlags {
  root?: string;
  log?: string;
  logFormat?: string;
  debug?: boolean;
  rootless?: string;
  systemdCgroup?: boolean;
}

/** What a command's action receives: its positional arguments and every flag. */
export type Action = (args: string[], flags: Record<string, unknown>) => Promise<number | void>;

/** Each command is a module exporting `action`. */
const commands: Record<string, () => Promise<{ action: Action }>> = {
  create: () => import('./create.js'),
  start: () => import('./start.js'),
  run: () => import('./run.js'),
  state: () => import('./state.js'),
  list: () => import('./list.js'),
  kill: () => import('./kill.js'),
  delete: () => import('./delete.js'),
  exec: () => import('./exec.js'),
  features: () => import('./features.js'),
  doctor: () => import('./doctor.js'),
  generate: () => import('./generate.js'),
  spec: () => import('./spec.js'),
  pause: () => import('./pause.js'),
  resume: () => import('./resume.js'),
  ps: () => import('./ps.js'),
  events: () => import('./events.js'),
  update: () => import('./update.js'),
  wait: () => import('./wait.js'),
  logs: () => import('./logs.js'),
  exited: () => import('./exited.js'),
};

/** An action that loads the command's module when (and only when) it runs; resolves to the exit code. */
function wire(name: string) {
  return async (...params: unknown[]): Promise<number> => {
    const flags = params[params.length - 1] as Record<string, unknown>;
    const args = params.slice(0, -1).flat().filter((a) => a !== undefined).map(String);
    const mod = await commands[name]!();
    const code = await mod.action(args, flags);
    return typeof code === 'number' ? code : 0;
  };
}

export function createCLI(): CAC {
  const cli = cac('tsrunc');
  cli
    .option('--root <dir>', 'root directory for storage of container state')
    .option('--log <file>', 'file to write logs to (default: stderr only)')
    .option('--log-format <format>', 'log format: text or json', { default: 'text' })
    .option('--debug', 'enable debug logging and show stack traces')
    .option('--rootless [mode]', 'rootless mode: auto, true or false (default auto)')
    .option('--systemd-cgroup', 'use systemd to manage cgroups');

  cli
    .command('create <container-id>', 'create a container')
    .option('-b, --bundle <dir>', 'path to the bundle directory', { default: '.' })
    .option('--pid-file <file>', 'file to write the init process pid to')
    .option('--console-socket <path>', 'unix socket that receives the pty master of a terminal (process.terminal)')
    .option('--no-pivot', 'do not use pivot_root (for a rootfs on a ramdisk)')
    .option('--no-new-keyring', 'do not create a new session keyring')
    .option('--preserve-fds <n>', 'pass N extra fds (3…3+N-1) to the container', { default: 0 })
    .action(wire('create'));
  cli.command('start <container-id>', 'start a created container').action(wire('start'));
  cli
    .command('run <container-id>', 'create and run a container')
    .option('-b, --bundle <dir>', 'path to the bundle directory', { default: '.' })
    .option('--pid-file <file>', 'file to write the init process pid to')
    .option('--console-socket <path>', 'unix socket that receives the pty master of a terminal (with --detach)')
    .option('-d, --detach', 'detach: a monitor stays with the container and records how it ends (see wait)')
    .option('--output <file>', "with --detach: write the container's stdout and stderr to this log (see logs)")
    .option('--rm', 'with --detach: remove the container when it ends')
    .option('--keep', 'keep the container state after it exits')
    .option('--no-pivot', 'do not use pivot_root')
    .option('--no-new-keyring', 'do not create a new session keyring')
    .option('--preserve-fds <n>', 'pass N extra fds (3…3+N-1) to the container', { default: 0 })
    .action(wire('run'));
  cli.command('state <container-id>', 'print the state of a container as JSON').action(wire('state'));
  cli.command('wait <container-id>', 'print the exit code of a container started with run -d, once it has ended').action(wire('wait'));
  cli
    .command('logs <container-id>', 'print the output of a container started with run -d --output')
    .option('-f, --follow', 'keep printing until the container ends')
    .action(wire('logs'));
  cli
    .command('exited <container-id>', "internal: a detached container's monitor runs it when the container has ended")
    .option('--rm', 'remove the container')
    .action(wire('exited'));
  cli
    .command('doctor', 'check this host for (rootless) readiness: ok, warning or problem, with the fix')
    .option('-f, --format <format>', 'text or json', { default: 'text' })
    .action(wire('doctor'));
  cli
    .command('generate <what> [name]', 'generate systemd --bundle DIR NAME: a systemd unit that runs the bundle')
    .option('-b, --bundle <dir>', 'path to the bundle directory', { default: '.' })
    .option('--install', 'write it to your systemd unit directory and run systemctl daemon-reload')
    .option('--type <type>', 'notify (wait for READY=1 from the container) or exec', { default: 'notify' })
    .option('--restart <policy>', 'no, on-failure or always', { default: 'on-failure' })
    .action(wire('generate'));
  cli
    .command('list', 'list containers')
    .alias('ps-list')
    .option('-f, --format <format>', 'table or json', { default: 'table' })
    .option('-q, --quiet', 'print only the ids')
    .action(wire('list'));
  cli
    .command('kill <container-id> [signal]', 'send a signal (default SIGTERM) to the container init')
    .option('-a, --all', 'send to all processes of the container (needs its cgroup)')
    .action(wire('kill'));
  cli
    .command('delete <container-id>', 'delete a container')
    .option('-f, --force', 'kill the container first if it is running')
    .action(wire('delete'));
  cli
    .command('spec', 'write a new config.json')
    .option('-b, --bundle <dir>', 'directory to write config.json in', { default: '.' })
    .option('--rootless', 'generate a config for a rootless container')
    .option('--mappings <mode>', 'rootless ID mappings: auto (your subordinate ranges when usable) or single (your own ID)', { default: 'auto' })
    .action(wire('spec'));

  cli.command('pause <container-id>', 'freeze every process of a container').action(wire('pause'));
  cli.command('resume <container-id>', 'thaw a paused container').action(wire('resume'));
  cli
    .command('ps <container-id> [...ps-options]', 'list the processes of a container (ps options after the id or after --)')
    .option('-f, --format <format>', 'table or json', { default: 'table' })
    .allowUnknownOptions()
    .action(wire('ps'));
  cli
    .command('events <container-id>', 'print container events (stats, OOM kills) as JSON lines')
    .option('--interval <duration>', 'time between stats (e.g. 5s, 500ms)', { default: '5s' })
    .option('--stats', 'print the statistics once and exit')
    .action(wire('events'));
  cli
    .command('update [container-id]', "change a running container's limits")
    .option('-r, --resources [file]', 'linux.resources JSON from a file, or - for stdin')
    .option('--blkio-weight <n>', 'block IO weight (10-1000)')
    .option('--cpu-period <us>', 'CPU CFS period')
    .option('--cpu-quota <us>', 'CPU CFS quota (-1: none)')
    .option('--cpu-share <n>', 'CPU shares (relative weight)')
    .option('--cpu-rt-period <us>', 'real-time period (cgroup v1 only)')
    .option('--cpu-rt-runtime <us>', 'real-time runtime (cgroup v1 only)')
    .option('--cpuset-cpus <list>', 'CPUs allowed (0-3, 0,1)')
    .option('--cpuset-mems <list>', 'memory nodes allowed (0-3, 0,1)')
    .option('--kernel-memory <bytes>', 'kernel memory limit (cgroup v1 only)')
    .option('--kernel-memory-tcp <bytes>', 'kernel TCP memory limit (cgroup v1 only)')
    .option('--memory <bytes>', 'memory limit (k, m, g suffixes)')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--memory-swap <bytes>', 'memory plus swap limit (-1: unlimited)')
    .option('--pids-limit <n>', 'maximum number of processes (-1: unlimited)')
    .option('--l3-cache-schema <schema>', 'Intel RDT L3 cache schema (not supported)')
    .option('--mem-bw-schema <schema>', 'Intel RDT memory bandwidth schema (not supported)')
    .action(wire('update'));

  cli
    .command('exec <container-id> [...command]', 'run a process in a running container')
    .option('-p, --process <file>', 'JSON file holding the whole process (runtime-spec "process")')
    .option('-d, --detach', 'detach from the process')
    .option('--pid-file <file>', 'file to write the process pid to')
    .option('-e, --env <env>', 'add NAME=value to the environment (repeatable)')
    .option('--cwd <dir>', 'working directory in the container')
    .option('-u, --user <uid[:gid]>', 'user (and group) id to run as')
    .option('-g, --additional-gids <gid>', 'additional group id (repeatable)')
    .option('-c, --cap <cap>', 'add a capability (repeatable)')
    .option('--no-new-privs', 'set no_new_privs for the process')
    .option('--preserve-fds <n>', 'pass N extra fds (3…3+N-1) to the process', { default: 0 })
    .option('--ignore-paused', 'exec even when the container is paused')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--console-socket <path>', 'unix socket that receives the pty master (with --detach and a terminal)')
    .option('--process-label <label>', 'SELinux label (not supported)')
    .option('--apparmor <profile>', 'AppArmor profile (not supported)')
    .option('--cgroup <path>', 'sub-cgroup to run in (not supported)')
    .action(wire('exec'));
  cli.command('features', 'print what this build of tsrunc supports, as JSON').action(wire('features'));

  cli.help();
  cli.version(`${VERSION}\nspec: ${SPEC_VERSION}`);
  return cli;
}
