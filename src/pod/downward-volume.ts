/**
 * downwardAPI volumes and the downwardAPI sources of projected ones: files holding the pod's own metadata and its
 * containers' resources, as kubelet writes them (labels and annotations one `key="value"` per line, sorted).
 * Pure but for writing the files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { resourceFieldValue, type NodeAllocatable } from './container-spec';
import { LABEL_FIELD_REF } from './manifest';
import type { PodManifest } from './manifest-schema';

export interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { resource: string; containerName?: string; divisor?: string | number };
  mode?: number;
}

/** kubelet's FormatMap: sorted keys, Go-quoted values */
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${JSON.stringify(m![k])}`).join('\n');
}

export function downwardText(pod: PodManifest, podUid: string, it: DownwardItem, field: string, node: NodeAllocatable | undefined): string {
  if (it.resourceFieldRef) return resourceFieldValue(it.resourceFieldRef, `${field}.resourceFieldRef`, pod, undefined, node);
  const fp = it.fieldRef!.fieldPath;
  const label = LABEL_FIELD_REF.exec(fp);
  if (label) return (label[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[label[2]] ?? '';
  switch (fp) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return podUid;
    case 'metadata.labels': return formatMap(pod.metadata.labels);
    case 'metadata.annotations': return formatMap(pod.metadata.annotations);
    default: return '';
  }
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
