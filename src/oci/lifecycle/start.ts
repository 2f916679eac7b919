/** `start`: tell the monitor to let the created process exec. */
import { PodrunError } from '../../errors';
import { translateLaunchError } from '../launch-error';
import { containerStatus } from './container-status';
import { askMonitor } from './monitor-client';
import { containerDir, requireRecord } from './state-store';

export async function startCreated(root: string, id: string): Promise<void> {
  const rec = requireRecord(root, id);
  const { status } = containerStatus(root, rec);
  if (status !== 'created') throw new PodrunError('EINVALID_CONFIG', `cannot start a container that is ${status}`);
  const reply = await askMonitor(containerDir(root, id), 'start');
  if (!reply.ok) {
    const e = reply.error!;
    throw e.step === 'start' || e.step === 'protocol' ? new PodrunError('EINVALID_CONFIG', `cannot start container ${id}: ${e.detail}`) : translateLaunchError(e);
  }
}
