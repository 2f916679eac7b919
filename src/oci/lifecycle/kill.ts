/** `kill`: signal the container's init (or, with all, every process in its cgroup). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../../errors';
import { nativeApi, type NativeApi } from '../../native';
import { parseSignal } from '../signals';
import { containerStatus } from './container-status';
import { processStartTime } from '../../util/process-identity';
import { requireRecord } from './state-store';

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

export function killContainer(root: string, id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean; native?: NativeApi } = {}): void {
  const native = opts.native ?? nativeApi();
  const sig = parseSignal(signal);
  const rec = requireRecord(root, id);
  const { status } = containerStatus(root, rec);
  // runc's wording first: containerd's shim looks for "container not running" to know a kill found nothing to do
  if (status === 'stopped' && opts.all) return; // runc: --all on a stopped container signals its (empty) cgroup
  if (status === 'stopped' || status === 'creating') throw new PodrunError('EINVALID_CONFIG', `container not running: ${id} is ${status}, nothing to signal`);
  if (opts.all) {
    for (const pid of cgroupPids(rec.cgroup)) signalProcess(native, pid, undefined, sig);
    return;
  }
  if (!signalProcess(native, rec.pid!, rec.pidStartTime, sig)) throw new PodrunError('EINVALID_CONFIG', `container not running: ${id}'s process has exited`);
}
