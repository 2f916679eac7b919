/** Apply resource writes to a container cgroup: enable each needed
 * controller top-down through cgroup.subtree_control where the parent offers
 * it, write the files, and report every limit that could not be enforced.
 * Works on any directory shaped like cgroupfs (tests use a fake one). */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CgroupWrite, Unmappable } from './resources';

export interface ApplyResult {
  applied: CgroupWrite[];
  /** human-readable, one per limit: "<field>: not enforced: <why>" */
  notEnforced: string[];
}

function controllersOf(dir: string): Set<string> {
  try {
    return new Set(readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}

/** Enable controller in every cgroup from mount down to (not including) leaf. */
function enableDownTo(mount: string, leaf: string, controller: string): boolean {
  const rel = path.relative(mount, leaf).split(path.sep).filter(Boolean);
  let dir = mount;
  for (const part of rel) {
    if (!controllersOf(dir).has(controller)) return false;
    try {
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${controller}`);
    } catch {
      return false;
    }
    dir = path.join(dir, part);
  }
  return controllersOf(leaf).has(controller);
}

export function applyResources(mount: string, cgroup: string, writes: CgroupWrite[], unmappable: Unmappable[] = []): ApplyResult {
  const result: ApplyResult = { applied: [], notEnforced: unmappable.map((u) => `${u.field}: not enforced: ${u.reason}`) };
  const enabled = new Map<string, boolean>();
  for (const w of writes) {
    let ok = enabled.get(w.controller);
    if (ok === undefined) {
      ok = enableDownTo(mount, cgroup, w.controller);
      enabled.set(w.controller, ok);
    }
    if (!ok) {
      result.notEnforced.push(`${w.field}: not enforced: this host's cgroup v2 offers no ${w.controller} controller here`);
      continue;
    }
    try {
      writeFileSync(path.join(cgroup, w.file), w.value);
      result.applied.push(w);
    } catch (e) {
      result.notEnforced.push(`${w.field}: not enforced: writing ${w.file}=${w.value}: ${(e as Error).message}`);
    }
  }
  return result;
}
