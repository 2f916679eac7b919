/** The import pipeline shared by every source: resolve the manifest for
 * our platform, store manifest and config, then fetch and unpack each
 * layer (skipping layers already unpacked), and record the name last — an
 * interrupted import leaves no name pointing at missing content. */
import { PodrunError } from '../errors';
import { sha256Of, digestMismatch } from './digest';
import { parseImageConfig, parseIndex, parseManifest } from './image-docs';
import type { Descriptor, ImageConfig, ImageManifest } from './image-schema';
import { ProcessLease } from './leases';
import { INDEX_TYPES, MANIFEST_TYPES, MT, layerCompression } from './media-types';
import { formatPlatform, hostPlatform, selectManifest, type Platform } from './platform';
import type { ImageProvider } from './provider';
import type { ImageStore, LayerInfo } from './store';
import { unpackLayer } from './unpack-layer';

export type PullEvent =
  | { kind: 'resolved'; layers: Descriptor[] }
  | { kind: 'layer-cached'; layer: Descriptor }
  | { kind: 'layer-bytes'; layer: Descriptor; bytes: number }
  | { kind: 'layer-unpacking'; layer: Descriptor }
  /** `unpacked` false: another pull unpacked it meanwhile */
  | { kind: 'layer-done'; layer: Descriptor; info: LayerInfo; unpacked: boolean };

export interface PullOptions {
  platform?: Platform;
  /** the name to record (default: the source's own name, if it has one) */
  name?: string;
  /** layers fetched and unpacked at once */
  concurrency?: number;
  onEvent?: (e: PullEvent) => void;
  onWarning?: (message: string) => void;
}

export interface PulledImage {
  name?: string;
  /** image id: the config digest */
  id: string;
  manifestDigest: string;
  config: ImageConfig;
  manifest: ImageManifest;
}

async function resolveManifest(provider: ImageProvider, platform: Platform): Promise<{ data: Buffer; digest: string }> {
  const top = await provider.resolve();
  const topDigest = sha256Of(top.data);
  if (top.digest && top.digest !== topDigest) throw digestMismatch(`${provider.description}: manifest`, top.digest, topDigest);
  let doc: { mediaType?: string; manifests?: unknown };
  try {
    doc = JSON.parse(top.data.toString()) as typeof doc;
  } catch (e) {
    throw new PodrunError('EIMAGE', `${provider.description}: manifest is not JSON: ${(e as Error).message}`);
  }
  const kind = top.mediaType || doc.mediaType || MT.ociManifest;
  // an index is recognised by its media type, or by its shape when the source sends none
  if (INDEX_TYPES.includes(kind) || (!MANIFEST_TYPES.includes(kind) && doc.manifests !== undefined)) {
    const index = parseIndex(top.data, `${provider.description} (index)`);
    const desc = selectManifest(index, platform, provider.description);
    const data = await provider.fetchDocument(desc);
    const digest = sha256Of(data);
    if (digest !== desc.digest) throw digestMismatch(`${provider.description}: manifest for ${formatPlatform(platform)}`, desc.digest, digest);
    return { data, digest };
  }
  if (!MANIFEST_TYPES.includes(kind)) {
    throw new PodrunError('EIMAGE', `${provider.description}: unsupported manifest type ${JSON.stringify(kind)}${kind.includes('v1+') || kind.includes('prettyjws') ? ' (Docker schema 1 is obsolete)' : ''}`);
  }
  return { data: top.data, digest: topDigest };
}

/** A blob already in the store (content-addressed, re-verified on read): a warm
 * pull fetches no config. Undefined when absent (or pruned meanwhile). */
function storedBlob(store: ImageStore, digest: string, what: string): Buffer | undefined {
  if (!store.hasBlob(digest)) return undefined;
  try {
    return store.readBlob(digest, what);
  } catch (e) {
    if ((e as PodrunError).code === 'ENOTFOUND') return undefined;
    throw e;
  }
}

async function fetchSmallBlob(provider: ImageProvider, desc: Descriptor): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await provider.openBlob(desc)) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length && errors.length === 0) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

export async function importImage(store: ImageStore, provider: ImageProvider, opts: PullOptions = {}): Promise<PulledImage> {
  const lease = new ProcessLease(store.dataRoot, 'pull');
  try {
    store.sweepTmp();
    const platform = opts.platform ?? hostPlatform();
    const man = await resolveManifest(provider, platform);
    const manifest = parseManifest(man.data, `${provider.description} (manifest ${man.digest})`);
    const configData = storedBlob(store, manifest.config.digest, 'image config') ?? (await fetchSmallBlob(provider, manifest.config));
    const configDigest = sha256Of(configData);
    if (configDigest !== manifest.config.digest) throw digestMismatch(`${provider.description}: image config`, manifest.config.digest, configDigest);
    const config = parseImageConfig(configData, `${provider.description} (config ${configDigest})`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new PodrunError('EIMAGE', `${provider.description}: the manifest has ${manifest.layers.length} layers but the config ${config.rootfs.diff_ids.length} diff_ids`);
    }
    if (config.os !== platform.os || config.architecture !== platform.architecture) {
      throw new PodrunError('EIMAGE', `${provider.description}: image is for ${config.os}/${config.architecture}, this host runs ${formatPlatform(platform)} (choose with --platform)`);
    }
    for (const l of manifest.layers) {
      if (layerCompression(l.mediaType) === null) throw new PodrunError('EIMAGE', `${provider.description}: layer ${l.digest} has unsupported media type ${l.mediaType}`);
    }
    opts.onEvent?.({ kind: 'resolved', layers: manifest.layers });

    await pool(manifest.layers, opts.concurrency ?? 3, async (layer, i) => {
      const diffId = config.rootfs.diff_ids[i];
      lease.add('layers', diffId);
      if (store.layerInfo(diffId)) {
        opts.onEvent?.({ kind: 'layer-cached', layer });
        return;
      }
      lease.add('blobs', layer.digest);
      if (!store.hasBlob(layer.digest)) {
        const stream = await provider.openBlob(layer);
        await store.putBlob(stream, layer, `${provider.description}: layer ${layer.digest}`, (n) => opts.onEvent?.({ kind: 'layer-bytes', layer, bytes: n }));
      }
      opts.onEvent?.({ kind: 'layer-unpacking', layer });
      const { info, unpacked } = await store.ensureLayer(diffId, async (dir) => {
        try {
          const r = await unpackLayer({ blob: store.blobPath(layer.digest), dest: dir, compression: layerCompression(layer.mediaType) ?? 'auto', diffId });
          for (const m of unpackChanges(r.stats)) opts.onWarning?.(`${provider.description}: layer ${layer.digest}: ${m}`);
          return { size: r.stats.bytes, entries: r.stats.entries };
        } catch (e) {
          throw layerError(provider, layer, e);
        }
      });
      opts.onEvent?.({ kind: 'layer-done', layer, info, unpacked });
    });

    lease.add('blobs', manifest.config.digest);
    lease.add('blobs', man.digest);
    store.putBlobBytes(configData, configDigest, 'image config');
    store.putBlobBytes(man.data, man.digest, 'manifest');
    const name = opts.name ?? provider.name;
    await store.recordImage(man.digest, name);
    return { name, id: configDigest, manifestDigest: man.digest, config, manifest };
  } finally {
    lease.release();
    await provider.close();
  }
}

/** What an unpack in a user namespace (rootless) could not keep as the layer has it: said, never silent. */
export function unpackChanges(s: { unmappedOwners?: number; skippedDevices?: number }): string[] {
  const out: string[] = [];
  if (s.unmappedOwners) {
    out.push(`${s.unmappedOwners} entries are owned by ids your user namespace does not map; they are owned by its root instead ` +
      '(give your user 65536 ids in /etc/subuid and /etc/subgid, and install newuidmap/newgidmap: Debian package uidmap)');
  }
  if (s.skippedDevices) out.push(`${s.skippedDevices} device nodes skipped: a user namespace cannot make them (containers get /dev from podrun)`);
  return out;
}

function layerError(provider: ImageProvider, layer: Descriptor, e: unknown): PodrunError {
  if (e instanceof PodrunError) return e;
  const err = e as Error;
  const what = `${provider.description}: layer ${layer.digest}`;
  switch (err.name) {
    case 'UnsafePathError':
      return new PodrunError('EUNSAFE', `${what}: refused entry ${err.message}`, { cause: e });
    case 'DiffIdMismatchError':
      return new PodrunError('EDIGEST', `${what}: ${err.message}`, { cause: e });
    case 'TarFormatError':
      return new PodrunError('EIMAGE', `${what}: ${err.message}`, { cause: e });
    default:
      return new PodrunError('EIMAGE', `${what}: unpack failed: ${err.message}`, { cause: e });
  }
}
