/** `podrun unshare [CMD…]`: bin/podrun has already put us in the user's namespace (rootless); the command runs here
 * with the terminal, and its exit status is ours. */
import { spawn } from 'node:child_process';
import os from 'node:os';

export function runInherited(cmd: string[]): Promise<number> {
  const [file, ...args] = cmd.length ? cmd : [process.env.SHELL || '/bin/sh'];
  const child = spawn(file!, args, { stdio: 'inherit' });
  process.on('SIGINT', () => undefined); // the terminal's ^C reaches the command itself
  for (const s of ['SIGTERM', 'SIGHUP'] as const) process.on(s, () => child.kill(s));
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`unshare: ${file}: ${e.message}`)));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
}
