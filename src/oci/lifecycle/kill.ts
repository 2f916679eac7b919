/** `kill`: signal the container's init (or, with all, every process in its cgroup — or, for a container without
 * one, in its PID namespace). */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../../errors';
import { nativeApi, type NativeApi } from '../../native';
import { parseSignal } from '../signals';
import { containerStatus } from './container-status';
import { processStartTime } from '../../util/process-identity';
import { requireRecord, type ContainerRecord } from './state-store';

/** Signal pid only if it is still the process that started at startTime. */
export function signalProcess(native: NativeApi, pid: number, startTime: number | undefined, sig: number): boolean {
  const fd = native.pidfdOpen(pid);
  if (fd < 0) return false;
  try {
    // checked after opening the pidfd: from here on the pidfd pins the process
    if (startTime !== undefined && processStartTime(pid) !== startTime) return false;
    native.sendSignal(fd, sig);
    return true;
  } finally {
    native.closeFd(fd);
  }
}

export function cgroupPids(cgroup: string): number[] {
  try {
    return readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The processes in the PID namespace of `pid` (its init), by /proc: what a container without a cgroup holds. */
export function pidNamespacePids(pid: number): number[] {
  const ns = (p: number | string): string | undefined => {
    try {
      return readlinkSync(`/proc/${p}/ns/pid`);
    } catch {
      return undefined; // gone, or not ours to see
    }
  };
  const own = ns(pid);
  if (!own) return [];
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d) && ns(d) === own).map(Number);
}

/** The container's processes: its cgroup's, or (no cgroup) its PID namespace's while its init is the one recorded. */
export function containerPids(rec: ContainerRecord): number[] {
  if (rec.cgroup) return cgroupPids(rec.cgroup);
  if (!rec.pid || processStartTime(rec.pid) !== rec.pidStartTime) return [];
  return pidNamespacePids(rec.pid);
}

export function killContainer(root: string, id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean; native?: NativeApi } = {}): void {
  const native = opts.native ?? nativeApi();
  const sig = parseSignal(signal);
  const rec = requireRecord(root, id);
  const { status } = containerStatus(root, rec);
  // runc's wording first: containerd's shim looks for "container not running" to know a kill found nothing to do
  if (status === 'stopped' && opts.all) return; // runc: --all on a stopped container signals its (empty) cgroup
  if (status === 'stopped' || status === 'creating') throw new PodrunError('EINVALID_CONFIG', `container not running: ${id} is ${status}, nothing to signal`);
  if (opts.all) {
    for (const pid of containerPids(rec)) signalProcess(native, pid, undefined, sig);
    return;
  }
  if (!signalProcess(native, rec.pid!, rec.pidStartTime, sig)) throw new PodrunError('EINVALID_CONFIG', `container not running: ${id}'s process has exited`);
}
