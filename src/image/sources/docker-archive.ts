/** A `docker save` archive as an image source. Its manifest.json names a
 * config file and layer tars; podrun synthesises the OCI manifest for them
 * (layers keep their bytes, so their digests are computed from the files). */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PodrunError } from '../../errors';
import { DigestCounter, sha256Of } from '../digest';
import { parseDockerArchiveManifest, parseImageConfig } from '../image-docs';
import type { Descriptor } from '../image-schema';
import { MT, sniffCompression } from '../media-types';
import type { ImageProvider, TopDocument } from '../provider';
import { normalizeName } from '../reference';
import { extractArchive, fileInside } from './extract-archive';

const LAYER_TYPES = { none: MT.ociLayer, gzip: MT.ociLayerGzip, zstd: MT.ociLayerZstd } as const;

async function hashFile(file: string): Promise<{ digest: string; size: number; head: Buffer }> {
  const h = new DigestCounter();
  let head = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (h.bytes === 0) head = Buffer.from(chunk.subarray(0, 8));
    h.update(chunk);
  }
  return { digest: h.digest(), size: h.bytes, head };
}

export class DockerArchiveProvider implements ImageProvider {
  readonly description: string;
  name?: string;
  readonly #files = new Map<string, string>(); // digest → extracted file
  readonly #docs = new Map<string, Buffer>();

  constructor(private readonly dir: string, file: string, private readonly refName?: string) {
    this.description = `docker-archive:${file}`;
  }

  async resolve(): Promise<TopDocument> {
    const src = this.description;
    const entries = parseDockerArchiveManifest(fs.readFileSync(fileInside(this.dir, 'manifest.json', src)), `${src}/manifest.json`);
    let entry = entries[0];
    if (this.refName) {
      const want = normalizeName(this.refName);
      const found = entries.find((e) => (e.RepoTags ?? []).some((t) => normalizeName(t) === want));
      if (!found) throw new PodrunError('ENOTFOUND', `${src}: no image tagged ${this.refName} (has: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'no tags'})`);
      entry = found;
    } else if (entries.length !== 1) {
      throw new PodrunError('EIMAGE', `${src}: holds ${entries.length} images; name one as docker-archive:PATH:TAG`);
    }
    if (!entry) throw new PodrunError('EIMAGE', `${src}: manifest.json lists no image`);
    const tag = this.refName ?? entry.RepoTags?.[0];
    this.name = tag ? normalizeName(tag) : undefined;

    const configData = fs.readFileSync(fileInside(this.dir, entry.Config, src));
    const config = parseImageConfig(configData, `${src}/${entry.Config}`);
    if (config.rootfs.diff_ids.length !== entry.Layers.length) {
      throw new PodrunError('EIMAGE', `${src}: ${entry.Layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`);
    }
    const configDesc: Descriptor = { mediaType: MT.ociConfig, digest: sha256Of(configData), size: configData.length };
    this.#docs.set(configDesc.digest, configData);
    const layers: Descriptor[] = [];
    for (const rel of entry.Layers) {
      const file = fileInside(this.dir, rel, src);
      const { digest, size, head } = await hashFile(file);
      this.#files.set(digest, file);
      layers.push({ mediaType: LAYER_TYPES[sniffCompression(head)], digest, size });
    }
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: configDesc, layers }));
    return { data: manifest, mediaType: MT.ociManifest };
  }

  async fetchDocument(desc: Descriptor): Promise<Buffer> {
    const doc = this.#docs.get(desc.digest);
    if (!doc) throw new PodrunError('EIMAGE', `${this.description}: no document ${desc.digest}`);
    return doc;
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    const doc = this.#docs.get(desc.digest);
    if (doc) {
      return Readable.from([doc]);
    }
    const file = this.#files.get(desc.digest);
    if (!file) throw new PodrunError('EIMAGE', `${this.description}: no blob ${desc.digest}`);
    return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function openDockerArchive(file: string, refName: string | undefined, scratch: () => string): Promise<DockerArchiveProvider> {
  if (!fs.existsSync(file)) throw new PodrunError('ENOTFOUND', `docker-archive:${file}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new PodrunError('EIMAGE', `docker-archive:${file}: is a directory; docker-archive takes the tar file \`docker save\` writes`);
  const dir = scratch();
  await extractArchive(file, dir);
  return new DockerArchiveProvider(dir, path.resolve(file), refName);
}
