/** `podrun oci run`: foreground container with stdio passed through and
 * signals forwarded; exits with the container's status. */
import { writeFile } from 'node:fs/promises';
import { startContainer } from '../oci/run';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function runForeground(
  id: string,
  o: { bundle: string; pidFile?: string; noPivot: boolean; preserveFds: number; consoleSocket?: string },
): Promise<number> {
  const ctr = await startContainer(o.bundle, {
    id,
    noPivot: o.noPivot,
    preserveFds: o.preserveFds,
    consoleSocket: o.consoleSocket,
    onWarning: (m) => process.stderr.write(`podrun: warning: ${m}\n`),
  });
  const forward = (sig: NodeJS.Signals): void => ctr.kill(sig);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    if (o.pidFile) await writeFile(o.pidFile, String(ctr.pid));
    const r = await ctr.wait();
    return r.status;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
