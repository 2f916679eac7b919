/** `attach`: a container's live output (and input to its stdin) through
 * its shared podrun-monitor; the proxying is C (`podrun-monitor attach`),
 * connected to our stdio. */
import { PodrunError } from '../../errors';
import { containerStatus } from './container-status';
import { runMonitorTool } from './monitor-client';
import { containerDir, requireRecord } from './state-store';

export interface AttachOptions {
  /** send our stdin to the container's */
  stdin?: boolean;
  /** our terminal in raw mode (a container with a tty) */
  raw?: boolean;
}

/** Resolves when the container ended or our input did; rejects when it cannot attach. */
export async function attachContainer(root: string, id: string, o: AttachOptions = {}): Promise<void> {
  const rec = requireRecord(root, id);
  if (!rec.sharedMonitor) throw new PodrunError('EINVALID_CONFIG', `container ${id} is not a pod's: its output goes to its creator`);
  const { status } = containerStatus(root, rec);
  if (status !== 'running') throw new PodrunError('EINVALID_CONFIG', `cannot attach to a ${status} container`);
  const { code, stderr } = await runMonitorTool(['attach', containerDir(root, id), ...(o.stdin ? ['--stdin'] : []), ...(o.raw ? ['--raw'] : [])]);
  if (code !== 0) throw new PodrunError('EINVALID_CONFIG', stderr.trim().replace(/^podrun-monitor: /, '') || `podrun-monitor attach exited ${code}`);
}
