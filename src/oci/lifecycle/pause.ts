/** `pause` / `resume` through cgroup.freeze. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodrunError } from '../../errors';
import { containerStatus, isFrozen } from './container-status';
import { requireRecord } from './state-store';

async function setFrozen(root: string, id: string, frozen: boolean): Promise<void> {
  const rec = requireRecord(root, id);
  const { status } = containerStatus(root, rec);
  const want = frozen ? 'running' : 'paused';
  if (status !== want && !(frozen && status === 'created')) {
    throw new PodrunError('EINVALID_CONFIG', `container ${id} is ${status}, not ${want}`);
  }
  if (!rec.cgroup) throw new PodrunError('EHOST', `container ${id} has no cgroup (rootless, no cgroup v2 subtree delegated): it cannot be ${frozen ? 'paused' : 'resumed'}, which is cgroup.freeze`);
  writeFileSync(path.join(rec.cgroup, 'cgroup.freeze'), frozen ? '1' : '0');
  const deadline = Date.now() + 5_000;
  while (isFrozen(rec.cgroup) !== frozen) {
    if (Date.now() > deadline) throw new PodrunError('ECGROUP', `container ${id} did not ${frozen ? 'freeze' : 'thaw'} within 5 s`);
    await sleep(1);
  }
}

export const pauseContainer = (root: string, id: string): Promise<void> => setFrozen(root, id, true);
export const resumeContainer = (root: string, id: string): Promise<void> => setFrozen(root, id, false);
