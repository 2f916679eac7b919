/** `podrun gc`: remove what crashed or killed `podrun start`s left behind.
 * Pods whose start died mid-way are removed like `rm -f`; pod directories
 * without a record, and the data directories and cgroups of pods that no
 * longer exist, are unmounted and deleted. Live pods are never touched. */
import fs from 'node:fs';
import path from 'node:path';
import { leasesDir } from '../image/leases';
import { cachedAttachments, cniCacheDir, delNetwork } from '../network';
import { sweepAtomicTemps } from '../util/atomic-file';
import { withFileLock } from '../util/file-lock';
import { dataDirOwnedBy, podDataDir, removeOrphanData } from './pod-data-dir';
import { removePod } from './pod-lifecycle';
import { listPods, ownerGone, podDir, recordlessPodIds, startInterrupted } from './pod-store';

export interface GcReport {
  /** pods whose `podrun start` died before they were up (name (id)) */
  interrupted: string[];
  /** pods whose owning process has ended (name (id)) */
  orphaned: string[];
  /** pod ids whose directory a crash left without a record */
  recordless: string[];
  /** writable layers and volumes of pods that no longer exist */
  dataDirs: string[];
  /** pod cgroups of pods that no longer exist */
  cgroups: string[];
  /** CNI attachments (network/pod id) of pods that no longer exist, deleted */
  networks: string[];
  /** temp files of writers that died mid-write */
  tempFiles: number;
  /** what gc found but left, with the reason */
  left: string[];
}

export async function collectGarbage(root: string, dataRoot: string): Promise<GcReport> {
  const report: GcReport = { interrupted: [], orphaned: [], recordless: [], dataDirs: [], cgroups: [], networks: [], tempFiles: 0, left: [] };
  // under pods.lock no start is between its mkdir and its first record
  await withFileLock(path.join(root, 'pods.lock'), async () => {
    for (const id of recordlessPodIds(root)) {
      await removePod(root, id, { force: true, dataRoot });
      report.recordless.push(id);
    }
  });
  for (const rec of listPods(root)) {
    if (!startInterrupted(rec)) continue;
    await removePod(root, rec.id, { force: true, dataRoot });
    report.interrupted.push(`${rec.name} (${rec.id})`);
  }
  report.orphaned = await reapOrphans(root, dataRoot);
  const dataPods = path.join(dataRoot, 'pods');
  for (const id of fs.existsSync(dataPods) ? fs.readdirSync(dataPods) : []) {
    if (fs.existsSync(podDir(root, id))) continue;
    const dir = podDataDir(dataRoot, id);
    if (!dataDirOwnedBy(dir, root) && fs.readdirSync(dir).length > 0) {
      report.left.push(`${dir}: not made under state root ${path.resolve(root)}`);
      continue;
    }
    const r = await removeOrphanData(dataRoot, id); // (or an empty dir: a crash before its marker)
    report.dataDirs.push(dir);
    if (r.cgroup) report.cgroups.push(r.cgroup);
    if (r.left) report.left.push(r.left);
  }
  // CNI attachments whose DEL a crash (or a forced rm whose DEL failed) skipped: frees their IPAM leases
  for (const a of cachedAttachments(dataRoot)) {
    if (a.stateRoot !== path.resolve(root) || fs.existsSync(podDir(root, a.containerId))) continue;
    try {
      await delNetwork(dataRoot, a);
      report.networks.push(`${a.network.name}/${a.containerId}`);
    } catch (e) {
      report.left.push(`network ${a.network.name} attachment of ${a.containerId}: ${(e as Error).message}`);
    }
  }
  report.tempFiles = sweepAtomicTemps(cniCacheDir(dataRoot)) + sweepAtomicTemps(leasesDir(dataRoot));
  return report;
}

/** Remove the pods whose owner has ended (name (id) of each): what the library's reaper runs when its owner is gone,
 * and part of gc. A pod another process is removing meanwhile is not an error. */
export async function reapOrphans(root: string, dataRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const rec of listPods(root)) {
    if (!ownerGone(rec)) continue;
    await removePod(root, rec.id, { force: true, dataRoot }).catch((e: unknown) => {
      if (fs.existsSync(podDir(root, rec.id))) throw e;
    });
    out.push(`${rec.name} (${rec.id})`);
  }
  return out;
}
