/** The image library: pull/load into a store, list, inspect, remove, prune,
 * and turn an image into a container's root filesystem. No global state:
 * every call names its data root. */
import fs from 'node:fs';
/** node-tar, loaded when an archive is read (not on every import of the image layer) */
const tar = (): typeof import('tar') => require('tar') as typeof import('tar');
import { PodrunError } from '../errors';
import { findImage, listImages, pruneImages, removeImage, type ImageDetails, type PruneResult, type RemoveResult } from './images';
import { parsePlatform } from './platform';
import type { ImageProvider } from './provider';
import { importImage, type PulledImage, type PullEvent, type PullOptions } from './pull';
import { DEFAULT_REGISTRY, normalizeName, parseSource, type ImageSource } from './reference';
import { openDockerArchive } from './sources/docker-archive';
import { openOciSource } from './sources/oci-layout';
import { RegistryProvider, type RegistryOptions } from './sources/registry';
import { DEFAULT_DATA_ROOT, ImageStore } from './store';

export { ImageStore, DEFAULT_DATA_ROOT } from './store';
export { mountRootfs, removeRootfs, rootfsPaths, type RootfsPaths } from './overlay';
export { containerDefaults, processArgs, mergeEnv, resolveUser, type ContainerDefaults, type ResolvedUser } from './image-config';
export { parseImageRef, formatImageRef, normalizeName, type ImageRef } from './reference';
export { writeLease, removeLease, type Lease } from './leases';
export type { ImageDetails, PruneResult, RemoveResult, PulledImage, PullEvent };

export interface StoreOptions {
  /** default /var/lib/podrun */
  dataRoot?: string;
  /** registry for unqualified names (default docker.io) */
  defaultRegistry?: string;
}

export interface PullImageOptions extends StoreOptions, RegistryOptions {
  /** os/arch[/variant]; default: this host */
  platform?: string;
  /** record the image under this name instead of the source's */
  name?: string;
  onEvent?: (e: PullEvent) => void;
  /** what an unpack had to change (rootless: owners the user namespace cannot name, device nodes it cannot make) */
  onWarning?: (message: string) => void;
}

function storeOf(o: StoreOptions): ImageStore {
  return new ImageStore(o.dataRoot ?? DEFAULT_DATA_ROOT);
}

/** What kind of archive or directory a bare `podrun load PATH` names. */
export async function detectLocalSource(p: string): Promise<ImageSource> {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) throw new PodrunError('ENOTFOUND', `${p}: no such file or directory`);
  if (st.isDirectory()) return { transport: 'oci', path: p };
  const top = new Set<string>();
  await tar().t({ file: p, onReadEntry: (e) => void top.add(e.path.replace(/^\.\//, '')) }).catch((e: Error) => {
    throw new PodrunError('EIMAGE', `${p}: not a tar archive: ${e.message}`);
  });
  if (top.has('index.json') && top.has('oci-layout')) return { transport: 'oci', path: p };
  if (top.has('manifest.json')) return { transport: 'docker-archive', path: p };
  throw new PodrunError('EIMAGE', `${p}: neither an OCI layout archive (oci-layout, index.json) nor a docker save archive (manifest.json)`);
}

async function openSource(store: ImageStore, src: ImageSource, o: PullImageOptions): Promise<ImageProvider> {
  const scratch = (): string => store.tmpPath('archive');
  switch (src.transport) {
    case 'registry': return new RegistryProvider(src.ref, o);
    case 'oci': return openOciSource(src.path, src.refName, scratch);
    case 'docker-archive': return openDockerArchive(src.path, src.refName, scratch);
  }
}

/** Pull or load: `busybox`, `127.0.0.1:5000/x:tag`, `oci:DIR[:REF]`,
 * `oci-archive:FILE[:REF]`, `docker-archive:FILE[:TAG]`. */
export async function pullImage(source: string, o: PullImageOptions = {}): Promise<PulledImage> {
  const store = storeOf(o);
  const src = parseSource(source, o.defaultRegistry ?? DEFAULT_REGISTRY);
  return importImage(store, await openSource(store, src, o), importOptions(o));
}

function importOptions(o: PullImageOptions): PullOptions {
  return {
    platform: o.platform ? parsePlatform(o.platform) : undefined,
    name: o.name ? normalizeName(o.name, o.defaultRegistry) : undefined,
    onEvent: o.onEvent,
    onWarning: o.onWarning,
  };
}

/** Load a local archive or layout, detecting its kind when unprefixed. */
export async function loadImage(pathOrSource: string, o: PullImageOptions = {}): Promise<PulledImage> {
  if (/^(oci|oci-archive|docker-archive):/.test(pathOrSource)) return pullImage(pathOrSource, o);
  const store = storeOf(o);
  const src = await detectLocalSource(pathOrSource);
  return importImage(store, await openSource(store, src, o), importOptions(o));
}

export function images(o: StoreOptions = {}): ImageDetails[] {
  return listImages(storeOf(o));
}

export function inspectImage(query: string, o: StoreOptions = {}): ImageDetails {
  return findImage(storeOf(o), query, o.defaultRegistry);
}

export function removeImageByName(query: string, o: StoreOptions & { force?: boolean } = {}): Promise<RemoveResult> {
  return removeImage(storeOf(o), query, o);
}

export function pruneImageStore(o: StoreOptions = {}): Promise<PruneResult> {
  return pruneImages(storeOf(o));
}
