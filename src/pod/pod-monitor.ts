/** The pod's one podrun-monitor: it parents every container of the pod,
 * keeps their logs, exit codes and restarts. It lives in the pod cgroup's
 * `sandbox` child, so the pod's cgroup kill ends it should rm find it stuck,
 * and it writes <pod dir>/monitor.pid itself, so a start killed right after
 * spawning it still leaves it findable. */
import fs from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createCgroup } from '../cgroup/lifecycle';
import { nativeApi } from '../native';
import { askMonitor, signalProcess, spawnSharedMonitor, type SharedMonitor } from '../oci/lifecycle';
import { isSameProcess, processStartTime, waitProcessGone } from '../util/process-identity';
import { podDir, writePod, type PodRecord } from './pod-store';

const { SIGKILL } = constants.signals;

/** The pod cgroup's leaf for the pod's own processes (monitor, shared PID namespace init). */
export function sandboxCgroup(podCgroupDir: string): string {
  const cg = path.join(podCgroupDir, 'sandbox');
  if (!fs.existsSync(cg)) createCgroup(cg);
  return cg;
}

/** Started in the pod cgroup's sandbox leaf; with no pod cgroup (rootless, none delegated) where podrun is. */
export async function startPodMonitor(root: string, rec: PodRecord, podCgroupDir: string | null): Promise<SharedMonitor> {
  const dir = podDir(root, rec.id);
  const pid = await spawnSharedMonitor(dir, podCgroupDir === null ? undefined : sandboxCgroup(podCgroupDir));
  rec.monitor = { pid, startTime: processStartTime(pid) };
  writePod(root, rec);
  return { dir, ...rec.monitor };
}

/** Its pid and start time: from the record, or from the file it wrote itself. */
function podMonitorOf(root: string, rec: PodRecord): { pid: number; startTime?: number } | undefined {
  if (rec.monitor) return rec.monitor;
  try {
    const [pid, startTime] = fs.readFileSync(path.join(podDir(root, rec.id), 'monitor.pid'), 'utf8').trim().split(/\s+/).map(Number);
    return pid > 0 ? { pid, startTime } : undefined;
  } catch {
    return undefined;
  }
}

/** Ask it to leave (its containers are gone by now); SIGKILL if it does not within a second. */
export async function stopPodMonitor(root: string, rec: PodRecord): Promise<void> {
  const m = podMonitorOf(root, rec);
  if (!m || !isSameProcess(m.pid, m.startTime)) return;
  await askMonitor(podDir(root, rec.id), 'exit', 1_000).catch(() => undefined);
  await waitProcessGone(m.pid, m.startTime, 1_000);
  try {
    if (isSameProcess(m.pid, m.startTime)) process.kill(m.pid, 'SIGKILL');
  } catch {
    /* it left meanwhile */
  }
}

/** SIGKILL the pod monitor's children (its containers' inits), what a pod without a cgroup has instead of a cgroup
 * kill for those a crash left unrecorded. By /proc/PID/task/TID/children while the monitor is the one recorded; each
 * child is signalled through a pidfd only while it is still the process listed (the monitor may reap it meanwhile). */
export function killPodMonitorChildren(root: string, rec: PodRecord): void {
  const m = podMonitorOf(root, rec);
  if (!m || !isSameProcess(m.pid, m.startTime)) return;
  const children: Array<{ pid: number; startTime: number | undefined }> = [];
  try {
    for (const task of fs.readdirSync(`/proc/${m.pid}/task`)) {
      for (const pid of fs.readFileSync(`/proc/${m.pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number)) {
        children.push({ pid, startTime: processStartTime(pid) });
      }
    }
  } catch {
    /* it left meanwhile: its children with it, or to whoever reaps them now (listed so far: still signalled) */
  }
  for (const c of children) if (c.startTime !== undefined) signalProcess(nativeApi(), c.pid, c.startTime, SIGKILL);
}
