/** `delete [--force]`: kill what is left, wait for the monitor, remove the
 * cgroup and the state. Also cleans what a crash left half-made. */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { pruneEmpty, removeCgroup } from '../../cgroup/lifecycle';
import { PodrunError } from '../../errors';
import { runHooksLenient } from '../hooks';
import { containerStatus } from './container-status';
import { signalProcess } from './kill';
import { nativeApi } from '../../native';
import { cancelRestarts } from './restart';
import { isSameProcess, waitProcessGone } from '../../util/process-identity';
import { askMonitor } from './monitor-client';
import { removeMountsUnder } from '../host-mounts';
import { containerDir, hookState, readExit, readRecord, removeContainerDir } from './state-store';

async function waitRecorded(root: string, id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!readExit(root, id) && Date.now() < deadline) await sleep(2);
}

export async function deleteContainer(root: string, id: string, opts: { force?: boolean; onWarning?: (m: string) => void } = {}): Promise<void> {
  const rec = readRecord(root, id);
  if (!rec) {
    // runc: --force of a container that is not there succeeds (podman's cleanup, run without its
    // --runtime-flag root, relies on that; without it a stopped container never becomes "exited")
    if (!existsSync(containerDir(root, id))) {
      if (opts.force) return;
      throw new PodrunError('ENOTFOUND', `container ${id} does not exist`);
    }
    removeContainerDir(root, id); // a create that died before writing its record
    return;
  }
  const { status } = containerStatus(root, rec);
  if ((status === 'running' || status === 'paused') && !opts.force) {
    throw new PodrunError('EINVALID_CONFIG', `cannot delete container ${id} that is not stopped: ${status}`);
  }
  // a monitor that restarts the container must not launch it again
  await cancelRestarts(root, id);
  // cgroup.kill reaches everything, frozen or not; then the monitor records the exit and leaves. Without a cgroup,
  // SIGKILL to its init ends its PID namespace, which prepare made sure is its own
  if (rec.cgroup) await removeCgroup(rec.cgroup);
  else if (rec.pid) signalProcess(nativeApi(), rec.pid, rec.pidStartTime, constants.signals.SIGKILL);
  await waitProcessGone(rec.pid, rec.pidStartTime, 5_000);
  if (rec.sharedMonitor) {
    // a pod's monitor stays for the other containers: it only forgets this one (once it recorded the exit)
    if (isSameProcess(rec.monitorPid, rec.monitorStartTime)) {
      await waitRecorded(root, rec.id, 2_000);
      await askMonitor(containerDir(root, id), 'release', 2_000).catch(() => undefined);
    }
  } else {
    await waitProcessGone(rec.monitorPid, rec.monitorStartTime, 5_000);
  }
  pruneEmpty(rec.cgroupCreated.slice(0, -1));
  if (rec.hostMounts) removeMountsUnder(rec.hostMounts);
  removeContainerDir(root, id);
  runHooksLenient('poststop', rec.hooks, hookState(rec, 'stopped'), (m) => opts.onWarning?.(m));
}
