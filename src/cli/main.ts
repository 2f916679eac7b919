/** podrun CLI: a thin layer over the library. Command modules are required
 * lazily so start-up stays close to bare node. */
import { Command, Option } from 'commander';
import { PodrunError } from '../errors';
import { registerImageCommands, type ImageGlobals } from './image-commands';
import { registerNetworkCommands } from './network-commands';
import { registerCriCommand } from './cri-command';
import { registerPodCommands, type PodGlobals } from './pod-commands';
import { int, logError, registerOciCommands, warner, type OciGlobals } from './oci-commands';

export function reportError(e: unknown, json: boolean, debug = false): void {
  if (json) {
    const pe = e instanceof PodrunError ? e : undefined;
    const out = { error: { code: pe?.code ?? 'EINTERNAL', message: (e as Error)?.message ?? String(e), field: pe?.field, step: pe?.step, errno: pe?.errno } };
    process.stderr.write(`${JSON.stringify(out)}\n`);
  } else {
    process.stderr.write(`podrun: ${(e as Error)?.message ?? String(e)}\n`);
    if ((debug || process.env.PODRUN_DEBUG) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  }
}

/** Wrap a command body: errors go to stderr (and runc's --log), exit 1. */
function runner(fn: (g: OciGlobals) => Promise<number | void>) {
  return async (): Promise<void> => {
    try {
      const code = await fn((ociGlobals ?? {}) as OciGlobals);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      reportError(e, process.argv.includes('--json'), ociGlobals?.debug);
      logError(ociGlobals ?? {}, (e as Error)?.message ?? String(e));
      process.exitCode = 1;
    }
  };
}

let ociGlobals: Partial<OciGlobals> | undefined;

export function buildProgram(): Command {
  const program = new Command('podrun')
    .description('A Linux container runtime whose unit is the Kubernetes Pod')
    .version(require('../../../package.json').version as string)
    .showHelpAfterError()
    .enablePositionalOptions() // runc's argv: global options before the command
    .option('--data-root <dir>', 'images and layers (default /var/lib/podrun, or $PODRUN_DATA_ROOT)')
    .option('--default-registry <host>', 'registry for unqualified image names (default docker.io)')
    .option('--runroot <dir>', 'pod state (default /run/podrun, or $PODRUN_RUNROOT)')
    .option('--cni-conf-dir <dir>', 'CNI network configurations (default /etc/cni/net.d)')
    .option('--cni-bin-dir <dirs>', 'CNI plugin directories, colon-separated (default /opt/cni/bin:/usr/lib/cni)');
  const imageGlobals = (): ImageGlobals => {
    const o = program.opts() as ImageGlobals;
    return { dataRoot: o.dataRoot ?? process.env.PODRUN_DATA_ROOT, defaultRegistry: o.defaultRegistry ?? process.env.PODRUN_DEFAULT_REGISTRY };
  };

  const oci = program
    .command('oci')
    .description('OCI runtime commands (runc-compatible)')
    .enablePositionalOptions()
    .version(`podrun version ${require('../../../package.json').version as string}\nspec: 1.2.0`, '-v, --version');
  oci.hook('preAction', (cmd) => {
    ociGlobals = cmd.opts() as Partial<OciGlobals>;
  });
  registerOciCommands(oci, runner);
  registerImageCommands(program, (fn) => runner(async () => fn()), imageGlobals);
  const podGlobals = (): PodGlobals => {
    const g = program.opts() as { runroot?: string; cniConfDir?: string; cniBinDir?: string };
    return { ...imageGlobals(), runroot: g.runroot ?? process.env.PODRUN_RUNROOT, cniConfDir: g.cniConfDir, cniBinDirs: g.cniBinDir?.split(':').filter(Boolean) };
  };
  registerPodCommands(program, (fn) => runner(async () => fn()), podGlobals);
  registerNetworkCommands(program, (fn) => runner(async () => fn()), podGlobals);
  registerCriCommand(program, (fn) => runner(async () => fn()), podGlobals);
  program
    .command('unshare')
    .description("run a command in podrun's user namespace: rootless, yours, where podrun is root over your ids " +
      '(a test suite using the library, `rm` of what podrun wrote); as root, as it is')
    .argument('[command...]', 'the command (default: $SHELL)')
    .passThroughOptions()
    .allowUnknownOption()
    .action((cmd: string[]) =>
      runner(async () => {
        const { runInherited } = require('./unshare-command') as typeof import('./unshare-command');
        return runInherited(cmd);
      })(),
    );

  oci
    .command('run')
    .description('create and start a container; in the foreground unless --detach, removing it when it exits')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the OCI bundle', '.')
    .option('--pid-file <file>', 'write the container process id to this file')
    .option('-d, --detach', 'leave it running under its monitor and return')
    .option('--console-socket <path>', 'unix socket that receives the pty master (process.terminal)')
    .option('--no-pivot', 'use MS_MOVE + chroot instead of pivot_root (ramfs roots)')
    .option('--no-new-keyring', 'do not create a session keyring (podrun never does)')
    .option('--container-log <file>', 'podrun, with --detach: CRI-format log of stdout/stderr; the monitor stays and records the exit')
    .option('--strict-limits', 'podrun: fail instead of warning when a resource limit cannot be enforced')
    .addOption(new Option('--preserve-fds <n>', 'pass n extra fds (3…) to the container').argParser(int('--preserve-fds')).default(0))
    .action(function (this: Command, id: string, o: { bundle: string; pidFile?: string; pivot: boolean; preserveFds: number; detach?: boolean; consoleSocket?: string; containerLog?: string; strictLimits?: boolean }) {
      return runner(async () => {
        const g = this.optsWithGlobals() as OciGlobals;
        if (g.systemdCgroup) throw new PodrunError('EINVALID_CONFIG', '--systemd-cgroup: the systemd cgroup driver is not supported; podrun manages cgroupfs directly');
        if (o.detach) {
          const l = require('../oci/lifecycle') as typeof import('../oci/lifecycle');
          await l.createContainer(o.bundle, {
            id, root: g.root, pidFile: o.pidFile, noPivot: !o.pivot, preserveFds: o.preserveFds, consoleSocket: o.consoleSocket, containerLog: o.containerLog,
            strictLimits: o.strictLimits,
            onWarning: warner(g),
          });
          await l.startCreated(g.root, id, { onWarning: warner(g) });
          return 0;
        }
        if (o.containerLog) throw new PodrunError('EINVALID_CONFIG', '--container-log goes with --detach');
        const { runForeground } = require('./oci-run') as typeof import('./oci-run');
        return runForeground(id, { root: g.root, bundle: o.bundle, pidFile: o.pidFile, noPivot: !o.pivot, preserveFds: o.preserveFds, consoleSocket: o.consoleSocket, strictLimits: o.strictLimits, onWarning: warner(g) });
      })();
    });

  oci
    .command('spec')
    .description('write a default config.json (like runc spec)')
    .option('-b, --bundle <dir>', 'directory to write config.json into', '.')
    .action((o: { bundle: string }) =>
      runner(async () => {
        const { writeDefaultSpec } = require('./oci-spec') as typeof import('./oci-spec');
        await writeDefaultSpec(o.bundle);
      })(),
    );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

