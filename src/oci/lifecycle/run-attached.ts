/** A foreground run that goes through create + start (for configs with
 * hooks): the monitor stays the container's parent and records its exit; we
 * wait for that, then delete (which runs the poststop hooks). */
import { oomKills } from '../../cgroup/stats';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeApi } from '../../native';
import type { RunResult, RunningContainer } from '../run';
import { exitResult, parseSignal } from '../signals';
import { createContainer, type CreateOptions } from './create';
import { deleteContainer } from './delete';
import { signalProcess } from './kill';
import { startCreated } from './start';
import { readExit } from './state-store';

export async function startAttached(bundle: string, opts: CreateOptions): Promise<RunningContainer> {
  const rec = await createContainer(bundle, { ...opts, keep: true });
  const { root, id, onWarning } = opts;
  try {
    await startCreated(root, id, { onWarning });
  } catch (e) {
    await deleteContainer(root, id, { force: true, onWarning });
    throw e;
  }
  let result: Promise<RunResult> | undefined;
  return {
    id,
    pid: rec.pid!,
    kill: (sig) => void signalProcess(nativeApi(), rec.pid!, rec.pidStartTime, parseSignal(sig)),
    wait: () => {
      result ??= (async () => {
        let exit = readExit(root, id);
        while (!exit) {
          await sleep(10);
          exit = readExit(root, id);
        }
        const oomKilled = oomKills(rec.cgroup) > 0; // before delete removes the cgroup
        await deleteContainer(root, id, { force: true, onWarning });
        return { ...exitResult(exit.exitCode, exit.signal), oomKilled };
      })();
      return result;
    },
  };
}
