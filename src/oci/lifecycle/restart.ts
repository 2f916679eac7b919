/** Containers their monitor restarts (podrun's restartPolicy extension). */
import { isSameProcess } from '../../util/process-identity';
import { askMonitor } from './monitor-client';
import { containerDir, readRecord } from './state-store';

/** Tell the monitor not to launch the container again (before stopping it). */
export async function cancelRestarts(root: string, id: string): Promise<void> {
  const rec = readRecord(root, id);
  if (!rec || !isSameProcess(rec.monitorPid, rec.monitorStartTime)) return;
  await askMonitor(containerDir(root, id), 'norestart', 2_000).catch(() => undefined);
}
