/** Image queries and removal over a store: list, find by name or id,
 * inspect, remove a name, and prune what nothing references. */
import fs from 'node:fs';
import { PodrunError } from '../errors';
import { withFileLock } from '../util/file-lock';
import { parseImageConfig, parseManifest } from './image-docs';
import type { ImageConfig, ImageManifest } from './image-schema';
import { liveLeases } from './leases';
import { DEFAULT_REGISTRY, normalizeName } from './reference';
import type { ImageEntry, ImageStore } from './store';

export interface ImageDetails {
  /** config digest, as docker and podman show image ids */
  id: string;
  manifestDigest: string;
  names: string[];
  stored: string;
  created?: string;
  /** bytes of the stored (compressed) layers */
  size: number;
  platform: string;
  manifest: ImageManifest;
  config: ImageConfig;
  /** diffIDs, bottom layer first */
  layers: string[];
}

export function imageDetails(store: ImageStore, manifestDigest: string, entry: ImageEntry): ImageDetails {
  const manifest = parseManifest(store.readBlob(manifestDigest, 'manifest'), `manifest ${manifestDigest}`);
  const config = parseImageConfig(store.readBlob(manifest.config.digest, 'image config'), `config ${manifest.config.digest}`);
  return {
    id: manifest.config.digest,
    manifestDigest,
    names: entry.names,
    stored: entry.stored,
    created: config.created,
    size: manifest.layers.reduce((n, l) => n + l.size, 0),
    platform: [config.os, config.architecture, config.variant].filter(Boolean).join('/'),
    manifest,
    config,
    layers: config.rootfs.diff_ids,
  };
}

export function listImages(store: ImageStore): ImageDetails[] {
  const doc = store.readImages();
  return Object.entries(doc.images).map(([digest, entry]) => imageDetails(store, digest, entry));
}

/** Find an image by name (as written or normalised), id or manifest digest,
 * or a unique prefix (≥ 4 hex digits) of either. */
export function findImage(store: ImageStore, query: string, defaultRegistry = DEFAULT_REGISTRY): ImageDetails {
  const doc = store.readImages();
  const entries = Object.entries(doc.images);
  const byName = (n: string): [string, ImageEntry] | undefined => entries.find(([, e]) => e.names.includes(n));
  let hit = byName(query);
  if (!hit) {
    try {
      hit = byName(normalizeName(query, defaultRegistry));
    } catch {
      /* not a reference: maybe an id */
    }
  }
  if (hit) return imageDetails(store, hit[0], hit[1]);
  const hex = query.replace(/^sha256:/, '');
  if (/^[a-f0-9]{4,64}$/.test(hex)) {
    const matches = entries
      .map(([digest, entry]) => imageDetails(store, digest, entry))
      .filter((d) => d.id.slice(7).startsWith(hex) || d.manifestDigest.slice(7).startsWith(hex));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new PodrunError('EIMAGE', `image id prefix ${query} is ambiguous (${matches.length} images)`);
  }
  throw new PodrunError('ENOTFOUND', `image ${query} is not in the store (pull or load it first)`);
}

/** Ids of images that pods hold leases on. */
function imagesInUse(store: ImageStore): Set<string> {
  return new Set([...liveLeases(store.dataRoot).values()].map((l) => l.image).filter((i): i is string => !!i));
}

export interface RemoveResult {
  untagged: string[];
  /** manifest digests of images removed entirely */
  removed: string[];
}

/** Remove a name; an image left without names goes too (and by id, every
 * name). An image a pod uses is refused unless `force`. Content is freed by
 * the prune that follows. */
export async function removeImage(store: ImageStore, query: string, opts: { force?: boolean; defaultRegistry?: string } = {}): Promise<RemoveResult> {
  const image = findImage(store, query, opts.defaultRegistry);
  if (!opts.force && imagesInUse(store).has(image.id)) {
    throw new PodrunError('EIMAGE', `image ${query} is used by a pod; remove the pod first or pass --force`);
  }
  const byName = image.names.includes(query) ? query : image.names.find((n) => {
    try {
      return n === normalizeName(query, opts.defaultRegistry);
    } catch {
      return false; // an id, not a name
    }
  });
  const result: RemoveResult = { untagged: [], removed: [] };
  await store.updateImages((doc) => {
    const entry = doc.images[image.manifestDigest];
    if (!entry) return;
    if (byName && entry.names.length > 1) {
      entry.names = entry.names.filter((n) => n !== byName);
      result.untagged.push(byName);
      return;
    }
    result.untagged.push(...entry.names);
    delete doc.images[image.manifestDigest];
    result.removed.push(image.manifestDigest);
  });
  if (result.removed.length > 0) await pruneImages(store);
  return result;
}

export interface PruneResult {
  blobs: number;
  layers: number;
  tmp: number;
  /** bytes of blobs and unpacked layer content freed */
  bytes: number;
}

/** Delete blobs and unpacked layers no image, pod or in-flight pull references. */
export async function pruneImages(store: ImageStore): Promise<PruneResult> {
  return withFileLock(store.lockPath('gc'), async () => {
    // leases before images.json: a pull records its image before it drops its lease
    const leases = [...liveLeases(store.dataRoot).values()];
    const doc = store.readImages();
    const blobs = new Set<string>(leases.flatMap((l) => l.blobs));
    const layers = new Set<string>(leases.flatMap((l) => l.layers));
    for (const digest of Object.keys(doc.images)) {
      blobs.add(digest);
      let manifest: ImageManifest;
      try {
        manifest = parseManifest(store.readBlob(digest, 'manifest'), `manifest ${digest}`);
      } catch {
        continue; // a broken image keeps nothing alive
      }
      blobs.add(manifest.config.digest);
      for (const l of manifest.layers) blobs.add(l.digest);
      try {
        const config = parseImageConfig(store.readBlob(manifest.config.digest, 'image config'), 'config');
        for (const d of config.rootfs.diff_ids) layers.add(d);
      } catch {
        /* missing config: its layers are unreachable anyway */
      }
    }
    const result: PruneResult = { blobs: 0, layers: 0, tmp: store.sweepTmp(), bytes: 0 };
    for (const b of store.listBlobs()) {
      if (blobs.has(b)) continue;
      result.bytes += fs.statSync(store.blobPath(b), { throwIfNoEntry: false })?.size ?? 0;
      store.removeBlob(b);
      result.blobs++;
    }
    for (const l of store.listLayers()) {
      if (layers.has(l)) continue;
      result.bytes += store.layerInfo(l)?.size ?? 0;
      store.removeLayer(l);
      result.layers++;
    }
    return result;
  });
}
