/** `events [--stats] [--interval]`: cgroup statistics of a container, once or
 * every interval until it stops, plus "oom" events when memory.events says so. */
import { setTimeout as sleep } from 'node:timers/promises';
import { readCgroupStats } from '../../cgroup/stats';
import { containerStatus } from './container-status';
import { requireRecord } from './state-store';

export interface ContainerEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: unknown;
}

export function statsEvent(root: string, id: string): ContainerEvent {
  const rec = requireRecord(root, id);
  const { unavailable, ...data } = readCgroupStats(rec.cgroup);
  return { type: 'stats', id, data: { ...data, 'podrun.unavailableControllers': unavailable } };
}

export async function streamEvents(root: string, id: string, intervalMs: number, emit: (e: ContainerEvent) => void): Promise<void> {
  let ooms = 0;
  for (;;) {
    const rec = requireRecord(root, id);
    if (containerStatus(root, rec).status === 'stopped') return;
    const e = statsEvent(root, id);
    const kills = (e.data as { memory?: { oom_kill: number } }).memory?.oom_kill ?? 0;
    if (kills > ooms) emit({ type: 'oom', id });
    ooms = kills;
    emit(e);
    await sleep(intervalMs);
  }
}
