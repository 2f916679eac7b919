/** Pod records under <root>/pods/<id>/ (tmpfs, like the OCI state):
 * pod.json, ns/ (pinned namespaces), etc/ (hosts, hostname, resolv.conf),
 * bundles/, logs/, and the OCI state of its containers in oci/. Writable
 * container layers and volumes live on disk under <data-root>/pods/<id>/. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { writeFileAtomic } from '../util/atomic-file';
import type { PodManifest } from './manifest-schema';

export interface PodContainerRecord {
  name: string;
  init: boolean;
  /** id in the pod's OCI state root */
  ociId: string;
  image: string;
  imageId: string;
  /** upper/work/rootfs of its overlay */
  rootfsDir: string;
  bundle: string;
  log: string;
}

export interface PodRecord {
  id: string;
  name: string;
  namespace: string;
  created: string;
  manifest: PodManifest;
  /** absent while the sandbox is being built */
  containers: PodContainerRecord[];
  /** set when an init container failed or start gave up */
  failed?: string;
  dataDir: string;
  /** volumes mounted as tmpfs (emptyDir medium Memory) */
  tmpfsVolumes: string[];
  /** cgroup directories the pod made (podrun.slice when it was first, pod-<id>): removed on rm */
  cgroupCreated?: string[];
}

export const podsDir = (root: string): string => path.join(root, 'pods');
export const podDir = (root: string, id: string): string => path.join(podsDir(root), id);
export const podOciRoot = (root: string, id: string): string => path.join(podDir(root, id), 'oci');
/** The pod's cgroup below the cgroup2 root; its containers' (ctr-<name>) are children. */
export const podCgroup = (id: string): string => `podrun.slice/pod-${id}`;

export function writePod(root: string, rec: PodRecord): void {
  writeFileAtomic(path.join(podDir(root, rec.id), 'pod.json'), `${JSON.stringify(rec, null, 2)}\n`);
}

export function readPod(root: string, id: string): PodRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(podDir(root, id), 'pod.json'), 'utf8')) as PodRecord;
  } catch {
    return undefined;
  }
}

export function listPods(root: string): PodRecord[] {
  let ids: string[];
  try {
    ids = fs.readdirSync(podsDir(root));
  } catch {
    return [];
  }
  return ids.map((id) => readPod(root, id)).filter((p): p is PodRecord => !!p).sort((a, b) => a.created.localeCompare(b.created));
}

/** A pod by name, id or unique id prefix. */
export function findPod(root: string, query: string): PodRecord {
  const pods = listPods(root);
  const byName = pods.filter((p) => p.name === query || `${p.namespace}/${p.name}` === query);
  if (byName.length === 1) return byName[0];
  const byId = pods.filter((p) => p.id.startsWith(query));
  if (byId.length === 1) return byId[0];
  if (byId.length > 1 || byName.length > 1) throw new PodrunError('EINVALID_CONFIG', `pod ${query} is ambiguous`);
  throw new PodrunError('ENOTFOUND', `pod ${query} does not exist`);
}
