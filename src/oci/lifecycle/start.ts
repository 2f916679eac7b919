/** `start`: run the startContainer hooks, tell the monitor to let the
 * created process exec, then run the poststart hooks. */
import { PodrunError } from '../../errors';
import { nativeApi } from '../../native';
import { runHooks, runHooksLenient } from '../hooks';
import { translateLaunchError } from '../launch-error';
import { containerStatus } from './container-status';
import { signalProcess } from './kill';
import { askMonitor } from './monitor-client';
import { containerDir, hookState, requireRecord } from './state-store';

const SIGKILL = 9;

export async function startCreated(root: string, id: string, opts: { onWarning?: (m: string) => void } = {}): Promise<void> {
  const rec = requireRecord(root, id);
  const { status } = containerStatus(root, rec);
  if (status !== 'created') throw new PodrunError('EINVALID_CONFIG', `cannot start a container that is ${status}`);
  const state = hookState(rec, 'created');
  try {
    runHooks('startContainer', rec.hooks, state);
  } catch (e) {
    // the spec: a failed startContainer hook stops the container
    signalProcess(nativeApi(), rec.pid!, rec.pidStartTime, SIGKILL);
    throw e;
  }
  const reply = await askMonitor(containerDir(root, id), 'start');
  if (!reply.ok) {
    const e = reply.error!;
    throw e.step === 'start' || e.step === 'protocol' ? new PodrunError('EINVALID_CONFIG', `cannot start container ${id}: ${e.detail}`) : translateLaunchError(e);
  }
  runHooksLenient('poststart', rec.hooks, hookState(rec, 'running'), (m) => opts.onWarning?.(m));
}
