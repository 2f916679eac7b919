/** A pod's data directory (<data-root>/pods/<id>: writable layers, volumes)
 * carries a marker naming the state root that owns it, so cleaning up after
 * a crash under one state root never deletes another's pods that share the
 * data root. */
import fs from 'node:fs';
import path from 'node:path';
import { pruneMadeParents, removeCgroup } from '../cgroup/lifecycle';
import { hostCgroup2Mount, mountPointsUnder } from '../cgroup/mount';
import { leasesDir, removeLease } from '../image/leases';
import { detachMount } from '../native';
import { podCgroup } from './pod-store';
import { pastaPidFile, stopPasta } from '../network/pasta';

const OWNER_FILE = 'state-root';

export const podDataDir = (dataRoot: string, id: string): string => path.join(dataRoot, 'pods', id);

export function writeDataDirOwner(dataDir: string, root: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dataDir, OWNER_FILE), path.resolve(root));
}

export function dataDirOwnedBy(dataDir: string, root: string): boolean {
  try {
    return fs.readFileSync(path.join(dataDir, OWNER_FILE), 'utf8') === path.resolve(root);
  } catch {
    return false;
  }
}

/** Remove what a pod without a record left: mounts below its data dir, its
 * image leases, its cgroup (killing what still runs there: the data dir
 * proved the pod was this state root's), the dir itself. */
export async function removeOrphanData(dataRoot: string, id: string): Promise<{ cgroup?: string; left?: string }> {
  const dir = podDataDir(dataRoot, id);
  for (const m of mountPointsUnder(fs.readFileSync('/proc/self/mountinfo', 'utf8'), dir)) detachMount(m);
  await stopPasta(pastaPidFile(dir)); // a pasta whose pod record is gone still holds the pod's ports
  for (const n of fs.existsSync(leasesDir(dataRoot)) ? fs.readdirSync(leasesDir(dataRoot)) : []) {
    if (n.startsWith(`pod-${id}-`) && n.endsWith('.json')) removeLease(dataRoot, n.slice(0, -5));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const cg2 = hostCgroup2Mount();
  const cg = cg2 && path.join(cg2, podCgroup(id));
  if (!cg || !fs.existsSync(cg)) return {};
  await removeCgroup(cg);
  pruneMadeParents(path.dirname(cg));
  return { cgroup: cg };
}
