/** An OCI image layout directory (or a tar of one) as an image source. */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PodrunError } from '../../errors';
import { digestHex } from '../digest';
import { parseIndex } from '../image-docs';
import type { Descriptor } from '../image-schema';
import { MT } from '../media-types';
import { normalizeName } from '../reference';
import type { ImageProvider, TopDocument } from '../provider';
import { extractArchive } from './extract-archive';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

export class OciLayoutProvider implements ImageProvider {
  readonly description: string;
  name?: string;

  constructor(readonly dir: string, private readonly refName: string | undefined, private readonly cleanup?: () => void, description?: string) {
    this.description = description ?? `oci:${dir}`;
  }

  async resolve(): Promise<TopDocument> {
    const layoutFile = path.join(this.dir, 'oci-layout');
    if (!fs.existsSync(layoutFile)) throw new PodrunError('EIMAGE', `${this.description}: not an OCI image layout (no oci-layout file)`);
    const indexFile = path.join(this.dir, 'index.json');
    const index = parseIndex(fs.readFileSync(indexFile), `${this.description}/index.json`);
    const refs = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((r): r is string => !!r);
    let chosen: Descriptor | undefined;
    if (this.refName) {
      chosen = index.manifests.find((d) => d.annotations?.[REF_NAME] === this.refName);
      if (!chosen) throw new PodrunError('ENOTFOUND', `${this.description}: no image named ${JSON.stringify(this.refName)} (has: ${refs.join(', ') || 'no names'})`);
    } else if (index.manifests.length === 1) {
      chosen = index.manifests[0];
    } else {
      throw new PodrunError('EIMAGE', `${this.description}: holds ${index.manifests.length} images; name one as oci:PATH:REF (has: ${refs.join(', ') || 'no names'})`);
    }
    this.name = layoutImageName(chosen.annotations?.[CONTAINERD_NAME] ?? chosen.annotations?.[REF_NAME], this.description);
    return { data: await this.fetchDocument(chosen), mediaType: chosen.mediaType || MT.ociManifest, digest: chosen.digest };
  }

  async fetchDocument(desc: Descriptor): Promise<Buffer> {
    return fs.readFileSync(this.blobFile(desc));
  }

  async openBlob(desc: Descriptor): Promise<Readable> {
    return fs.createReadStream(this.blobFile(desc), { highWaterMark: 1 << 20 });
  }

  blobFile(desc: Descriptor): string {
    const file = path.join(this.dir, 'blobs', 'sha256', digestHex(desc.digest));
    if (!fs.existsSync(file)) throw new PodrunError('EIMAGE', `${this.description}: blob ${desc.digest} is missing`);
    return file;
  }

  async close(): Promise<void> {
    this.cleanup?.();
  }
}

/** A ref name that is a full reference keeps it; a bare tag ("latest")
 * becomes localhost/<layout dir name>:<tag>, as podman names such images. */
export function layoutImageName(ref: string | undefined, description: string): string | undefined {
  if (!ref) return undefined;
  if (ref.includes('/')) {
    try {
      return normalizeName(ref);
    } catch {
      /* not a reference: fall through */
    }
  }
  const base = path.basename(description.replace(/^oci:/, '').replace(/\.tar$/, '')).toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  try {
    return normalizeName(`localhost/${base}:${ref}`);
  } catch {
    return undefined;
  }
}

/** `oci:PATH` where PATH is a directory or a tar archive of a layout. */
export async function openOciSource(p: string, refName: string | undefined, scratch: () => string): Promise<OciLayoutProvider> {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) throw new PodrunError('ENOTFOUND', `oci:${p}: no such file or directory`);
  if (st.isDirectory()) return new OciLayoutProvider(path.resolve(p), refName);
  const dir = scratch();
  await extractArchive(p, dir);
  return new OciLayoutProvider(dir, refName, () => fs.rmSync(dir, { recursive: true, force: true }), `oci:${p}`);
}
