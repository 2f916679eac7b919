/** `podrun oci …` and `podrun-oci …`: runc's command line. Each action is a
 * thin call into src/oci; modules load lazily so start-up stays small. */
import { appendFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { PodrunError } from '../errors';
import { defaultRoot } from '../util/rootless';

export interface OciGlobals {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug?: boolean;
  systemdCgroup?: boolean;
}

/** runc logs errors to --log in --log-format; podman/conmon read them there. */
export function logError(g: Partial<OciGlobals>, message: string, level: 'error' | 'warning' = 'error'): void {
  if (!g.log) return;
  const line = g.logFormat === 'json'
    ? JSON.stringify({ level, msg: message, time: new Date().toISOString() })
    : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(message)}`;
  try {
    appendFileSync(g.log, `${line}\n`);
  } catch {
    // the log is a courtesy; stderr still carries the error
  }
}

export function int(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new PodrunError('EINVALID_CONFIG', `${name} takes a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

const lifecycle = () => require('../oci/lifecycle') as typeof import('../oci/lifecycle');

/** Warnings go to --log when there is one, else to stderr — as runc's do
 * (logrus writes to --log, or to stderr without it). As podrun-oci, in
 * runc's text format, which its callers know; podman and containerd always
 * pass --log, so a warning never lands in a container's own output. */
export function warner(g: Partial<OciGlobals>): (message: string) => void {
  const compat = process.env.PODRUN_OCI_COMPAT === '1';
  return (m) => {
    if (g.log) logError(g, m, 'warning');
    else process.stderr.write(compat ? runcWarning(m) : `podrun: warning: ${m}\n`);
  };
}

/** A warning as runc's logrus writes it to stderr without --log. */
export function runcWarning(message: string): string {
  return `time="${new Date().toISOString()}" level=warning msg=${JSON.stringify(message)}\n`;
}

export function registerOciCommands(oci: Command, run: (fn: (g: OciGlobals) => Promise<number | void>) => () => Promise<void>): void {
  oci
    .option('--root <dir>', 'state directory (rootless: $XDG_RUNTIME_DIR/podrun, as runc keeps $XDG_RUNTIME_DIR/runc)', defaultRoot('state', '/run/podrun'))
    .option('--log <file>', 'also write errors to this file')
    .addOption(new Option('--log-format <fmt>', 'format of --log').choices(['text', 'json']).default('text'))
    .option('--debug', 'print stack traces with errors')
    .option('--systemd-cgroup', 'use the systemd cgroup driver (not supported: podrun writes cgroupfs directly)');

  const globals = (cmd: Command): OciGlobals => {
    const g = cmd.optsWithGlobals() as OciGlobals;
    if (g.systemdCgroup) throw new PodrunError('EINVALID_CONFIG', '--systemd-cgroup: the systemd cgroup driver is not supported; podrun manages cgroupfs directly');
    return g;
  };
  const act = <A extends unknown[]>(fn: (g: OciGlobals, ...args: A) => Promise<number | void>) =>
    function (this: Command, ...args: A) {
      return run((g0) => fn({ ...g0, ...globals(this) }, ...args))();
    };

  oci
    .command('create')
    .description('create a container: everything in place, the process waiting to be started')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the OCI bundle', '.')
    .option('--pid-file <file>', 'write the container process id to this file')
    .option('--console-socket <path>', 'unix socket that receives the pty master (process.terminal)')
    .option('--no-pivot', 'use MS_MOVE + chroot instead of pivot_root')
    .option('--no-new-keyring', 'do not create a session keyring (podrun never does)')
    .option('--container-log <file>', 'podrun: write stdout/stderr to this CRI-format log; the monitor stays and records the exit')
    .option('--strict-limits', 'podrun: fail instead of warning when a resource limit cannot be enforced')
    .addOption(new Option('--preserve-fds <n>', 'pass n extra fds (3…)').argParser(int('--preserve-fds')).default(0))
    .action(
      act(async (g, id: string, o: { bundle: string; pidFile?: string; consoleSocket?: string; pivot: boolean; preserveFds: number; containerLog?: string; strictLimits?: boolean }) => {
        await lifecycle().createContainer(o.bundle, {
          id, root: g.root, pidFile: o.pidFile, consoleSocket: o.consoleSocket, noPivot: !o.pivot, preserveFds: o.preserveFds, containerLog: o.containerLog,
          strictLimits: o.strictLimits,
          onWarning: warner(g),
        });
      }),
    );

  oci
    .command('start')
    .description('start a created container')
    .argument('<container-id>')
    .action(act(async (g, id: string) => lifecycle().startCreated(g.root, id, { onWarning: warner(g) })));

  oci
    .command('state')
    .description('print the OCI state of a container')
    .argument('<container-id>')
    .action(
      act(async (g, id: string) => {
        const l = lifecycle();
        process.stdout.write(`${JSON.stringify(l.ociState(g.root, l.requireRecord(g.root, id)), null, 2)}\n`);
      }),
    );

  oci
    .command('kill')
    .description('send a signal (default SIGTERM) to the container\'s init')
    .argument('<container-id>')
    .argument('[signal]', 'name or number', 'SIGTERM')
    .option('-a, --all', 'signal every process in the container')
    .action(act(async (g, id: string, sig: string, o: { all?: boolean }) => lifecycle().killContainer(g.root, id, sig, { all: o.all })));

  oci
    .command('delete')
    .description('delete a container and everything it holds')
    .argument('<container-id>')
    .option('-f, --force', 'kill it first if it is still running')
    .action(act(async (g, id: string, o: { force?: boolean }) => lifecycle().deleteContainer(g.root, id, { force: o.force, onWarning: warner(g) })));

  oci
    .command('pause')
    .description('freeze every process of a container')
    .argument('<container-id>')
    .action(act(async (g, id: string) => lifecycle().pauseContainer(g.root, id)));

  oci
    .command('resume')
    .description('thaw a paused container')
    .argument('<container-id>')
    .action(act(async (g, id: string) => lifecycle().resumeContainer(g.root, id)));

  oci
    .command('list')
    .description('list containers')
    .addOption(new Option('-f, --format <fmt>', 'table or json').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'ids only')
    .action(
      act(async (g, o: { format: string; quiet?: boolean }) => {
        const l = lifecycle();
        const states = l.listContainers(g.root);
        if (o.quiet) process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
        else if (o.format === 'json') process.stdout.write(`${JSON.stringify(states)}\n`);
        else process.stdout.write(l.formatList(states));
      }),
    );

  oci
    .command('ps')
    .description('list the processes of a container')
    .argument('<container-id>')
    .addOption(new Option('-f, --format <fmt>', 'table or json').choices(['table', 'json']).default('table'))
    .action(
      act(async (g, id: string, o: { format: string }) => {
        const l = lifecycle();
        const pids = l.containerPids(l.requireRecord(g.root, id));
        if (o.format === 'json') {
          process.stdout.write(`${JSON.stringify(pids)}\n`);
          return;
        }
        const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
        if (!pids.length) return;
        const r = spawnSync('ps', ['-f', '-p', pids.join(',')], { stdio: 'inherit' });
        return r.status ?? 1;
      }),
    );

  oci
    .command('exec')
    .description('run a process in a running container')
    .argument('<container-id>')
    .argument('[command...]')
    .passThroughOptions() // options after the container id belong to the command
    .option('-p, --process <file>', 'process.json (runtime-spec process)')
    .option('--cwd <dir>', 'working directory')
    .option('-e, --env <KEY=VALUE>', 'extra environment (repeatable)', collect)
    .option('-u, --user <uid[:gid]>', 'user to run as')
    .option('-g, --additional-gids <gid>', 'additional group (repeatable)', collect)
    .option('-c, --cap <cap>', 'add a capability (repeatable)', collect)
    .option('--no-new-privs', 'set no_new_privs')
    .option('-d, --detach', 'do not wait for the process')
    .option('--pid-file <file>', 'write the process id to this file')
    .option('-t, --tty', 'allocate a pty (needs --console-socket)')
    .option('--console-socket <path>', 'unix socket that receives the pty master')
    .addOption(new Option('--preserve-fds <n>', 'pass n extra fds (3…)').argParser(int('--preserve-fds')).default(0))
    .action(
      act(async (g, id: string, command: string[], o: {
        process?: string; cwd?: string; env?: string[]; user?: string; additionalGids?: string[]; cap?: string[];
        newPrivs?: boolean; detach?: boolean; pidFile?: string; tty?: boolean; consoleSocket?: string; preserveFds: number;
      }) => {
        const l = lifecycle();
        let user: { uid: number; gid: number } | undefined;
        if (o.user) {
          const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
          if (!m) throw new PodrunError('EINVALID_CONFIG', `--user takes uid[:gid], got ${JSON.stringify(o.user)}`);
          user = { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
        }
        const r = await l.execInContainer(id, {
          root: g.root,
          onWarning: warner(g),
          process: o.process ? l.readProcessFile(o.process) : undefined,
          args: command,
          env: o.env,
          cwd: o.cwd,
          user,
          additionalGids: o.additionalGids?.map(int('--additional-gids')),
          addCapabilities: o.cap,
          noNewPrivileges: o.newPrivs === false ? true : undefined,
          detach: o.detach,
          pidFile: o.pidFile,
          preserveFds: o.preserveFds,
          tty: o.tty,
          consoleSocket: o.consoleSocket,
        });
        return o.detach ? 0 : r.status;
      }),
    );

  oci
    .command('events')
    .description('print cgroup statistics (and OOM events) as JSON lines')
    .argument('<container-id>')
    .option('--stats', 'print the statistics once and exit')
    .addOption(new Option('--interval <seconds>', 'seconds between statistics').argParser(int('--interval')).default(5))
    .action(
      act(async (g, id: string, o: { stats?: boolean; interval: number }) => {
        const l = lifecycle();
        const emit = (e: unknown): void => void process.stdout.write(`${JSON.stringify(e)}\n`);
        if (o.stats) emit(l.statsEvent(g.root, id));
        else await l.streamEvents(g.root, id, o.interval * 1000, emit);
      }),
    );

  oci
    .command('features')
    .description('print what this runtime implements (JSON)')
    .action(act(async () => void process.stdout.write(`${JSON.stringify(lifecycle().runtimeFeatures(), null, 2)}\n`)));
}
