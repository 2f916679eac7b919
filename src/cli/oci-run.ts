/** `podrun oci run`: foreground container with stdio passed through and
 * signals forwarded; exits with the container's status. */
import { writeFile } from 'node:fs/promises';
import { hasHooks } from '../oci/hooks';
import path from 'node:path';
import { startContainer, validateId, type RunningContainer } from '../oci/run';
import { loadBundleConfig } from '../oci/validate';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function runForeground(
  id: string,
  o: { root: string; bundle: string; pidFile?: string; noPivot: boolean; preserveFds: number; consoleSocket?: string; strictLimits?: boolean; onWarning: (m: string) => void },
): Promise<number> {
  validateId(id);
  const common = { id, noPivot: o.noPivot, preserveFds: o.preserveFds, consoleSocket: o.consoleSocket, strictLimits: o.strictLimits, onWarning: o.onWarning };
  const bundle = path.resolve(o.bundle);
  const config = loadBundleConfig(bundle);
  // hooks need the create/start split: the monitor path; otherwise we are the parent ourselves
  const ctr: RunningContainer = hasHooks(config.hooks, 'prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop')
    ? await (require('../oci/lifecycle') as typeof import('../oci/lifecycle')).startAttached(bundle, { ...common, root: o.root })
    : await startContainer({ config, bundle, validated: true }, common);
  const forward = (sig: NodeJS.Signals): void => ctr.kill(sig);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    if (o.pidFile) await writeFile(o.pidFile, String(ctr.pid));
    const r = await ctr.wait();
    if (r.oomKilled) process.stderr.write(`podrun: container ${id} was OOM-killed (its memory limit was reached)\n`);
    return r.status;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
