/** What a container is now, from its record, its files, /proc and cgroupfs. */
import { cgroupEvent } from '../../cgroup/lifecycle';
import { isSameProcess } from '../../util/process-identity';
import { type ContainerRecord, type ExitRecord, isStarted, readExit } from './state-store';
import { deriveStatus, type OciStatus } from './status';

export function isFrozen(cgroup: string): boolean {
  if (!cgroup) return false; // no cgroup: never frozen
  try {
    return cgroupEvent(cgroup, 'frozen');
  } catch {
    return false;
  }
}

export interface ContainerStatus {
  status: OciStatus;
  exit?: ExitRecord;
}

export function containerStatus(root: string, rec: ContainerRecord): ContainerStatus {
  const exit = readExit(root, rec.id);
  const alive = !exit && isSameProcess(rec.pid, rec.pidStartTime);
  const status = deriveStatus({
    hasPid: rec.pid !== undefined,
    exited: exit !== undefined,
    alive,
    started: alive && isStarted(root, rec.id),
    frozen: alive && isFrozen(rec.cgroup),
  });
  return { status, exit };
}

/** The OCI runtime-spec state document (what `state` prints). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: OciStatus;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export function ociState(root: string, rec: ContainerRecord): OciState {
  const { status } = containerStatus(root, rec);
  const state: OciState = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status,
    pid: status === 'stopped' || status === 'creating' ? 0 : (rec.pid ?? 0),
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: '',
  };
  if (Object.keys(rec.annotations).length) state.annotations = rec.annotations;
  return state;
}
