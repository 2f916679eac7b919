/** podrun CLI: a thin layer over the library. Command modules are required
 * lazily so start-up stays close to bare node. */
import { Command, Option } from 'commander';
import { PodrunError } from '../errors';

export function reportError(e: unknown, json: boolean): void {
  if (json) {
    const pe = e instanceof PodrunError ? e : undefined;
    const out = { error: { code: pe?.code ?? 'EINTERNAL', message: (e as Error)?.message ?? String(e), field: pe?.field, step: pe?.step, errno: pe?.errno } };
    process.stderr.write(`${JSON.stringify(out)}\n`);
  } else {
    process.stderr.write(`podrun: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env.PODRUN_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  }
}

function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      reportError(e, process.argv.includes('--json') || process.argv.includes('--log-format=json'));
      process.exitCode = 1;
    }
  };
}

function intOption(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new PodrunError('EINVALID_CONFIG', `${name} takes a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

export function buildProgram(): Command {
  const program = new Command('podrun')
    .description('A Linux container runtime whose unit is the Kubernetes Pod')
    .version(require('../../../package.json').version as string)
    .showHelpAfterError();

  const oci = program.command('oci').description('OCI runtime commands (runc-compatible)');

  oci
    .command('run')
    .description('create and run a container in the foreground, removing it when it exits')
    .argument('<container-id>')
    .option('-b, --bundle <dir>', 'path to the OCI bundle', '.')
    .option('--pid-file <file>', 'write the container process id to this file')
    .option('--no-pivot', 'use MS_MOVE + chroot instead of pivot_root (ramfs roots)')
    .addOption(new Option('--preserve-fds <n>', 'pass n extra fds (3…) to the container').argParser(intOption('--preserve-fds')).default(0))
    .addOption(new Option('-d, --detach', 'not supported yet: podrun oci run only runs in the foreground').hideHelp())
    .action(
      action(async (id: string, o: { bundle: string; pidFile?: string; pivot: boolean; preserveFds: number; detach?: boolean }) => {
        if (o.detach) throw new PodrunError('EINVALID_CONFIG', '--detach is not supported yet; run in the foreground');
        const { runForeground } = require('./oci-run') as typeof import('./oci-run');
        return runForeground(id, { bundle: o.bundle, pidFile: o.pidFile, noPivot: !o.pivot, preserveFds: o.preserveFds });
      }),
    );

  oci
    .command('spec')
    .description('write a default config.json (like runc spec)')
    .option('-b, --bundle <dir>', 'directory to write config.json into', '.')
    .action(
      action(async (o: { bundle: string }) => {
        const { writeDefaultSpec } = require('./oci-spec') as typeof import('./oci-spec');
        await writeDefaultSpec(o.bundle);
      }),
    );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}

