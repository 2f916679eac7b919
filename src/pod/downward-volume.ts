/**
 * downwardAPI volumes and the downwardAPI sources of projected ones: files holding the pod's own metadata and its
 * containers' resources, as kubelet writes them (labels and annotations one `key="value"` per line, sorted).
 * Pure but for writing the files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { podFieldValue, resourceFieldValue, type NodeAllocatable } from './container-spec';
import type { PodManifest } from './manifest-schema';

export interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { resource: string; containerName?: string; divisor?: string | number };
  mode?: number;
}

export function downwardText(pod: PodManifest, podUid: string, it: DownwardItem, field: string, node: NodeAllocatable | undefined): string {
  if (it.resourceFieldRef) return resourceFieldValue(it.resourceFieldRef, `${field}.resourceFieldRef`, pod, undefined, node);
  return podFieldValue(pod, it.fieldRef!.fieldPath, { uid: podUid });
}

export function writeDownwardItems(items: DownwardItem[], dir: string, defaultMode: number | undefined, text: (it: DownwardItem, i: number) => string): void {
  items.forEach((it, i) => {
    const file = path.join(dir, it.path);
    const mode = it.mode ?? defaultMode ?? 0o644;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text(it, i), { mode });
    fs.chmodSync(file, mode); // not narrowed by the umask
  });
}
