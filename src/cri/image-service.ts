/** CRI ImageService over podrun's image store: list, status, pull (request
 * credentials, hosts.toml mirrors), remove, filesystem usage. */
import path from 'node:path';
import { PodrunError } from '../errors';
import { formatImageRef, ImageStore, parseImageRef, pullImage, removeImageByName } from '../image';
import { findImage, listImages, type ImageDetails } from '../image/images';
import type { Credentials } from '../image/sources/registry-auth';
import type { CriConfig } from './config';
import { registryEndpoints } from './registry-hosts';
import { diskUsage } from './stats';
import { invalidArgument } from './sandbox-plan';
import type { ImageSpec, Int64 } from './types';

export interface CriImage {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: Int64;
  uid: { value: Int64 } | null;
  username: string;
  spec: { image: string; annotations: Record<string, string> };
  pinned: boolean;
}

/** An image as CRI shows it: tags and repo@digest names, the user it runs as. */
export function criImage(img: ImageDetails): CriImage {
  const tags = img.names.filter((n) => !n.includes('@'));
  const repos = new Set(img.names.map((n) => {
    const r = parseImageRef(n);
    return `${r.registry}/${r.repository}`; // (formatImageRef would add :latest)
  }));
  const user = (img.config.config?.User ?? '').split(':')[0];
  return {
    id: img.id,
    repo_tags: tags,
    repo_digests: [...repos].map((r) => `${r}@${img.manifestDigest}`),
    size: img.size,
    uid: /^\d+$/.test(user) ? { value: user } : user ? null : { value: 0 },
    username: /^\d+$/.test(user) ? '' : user,
    spec: { image: img.id, annotations: {} },
    pinned: false,
  };
}

export class CriImages {
  readonly store: ImageStore;

  constructor(private readonly dataRoot: string, private readonly config: CriConfig) {
    this.store = new ImageStore(dataRoot);
  }

  private get defaultRegistry(): string | undefined {
    return this.config.registries?.defaultRegistry;
  }

  /** The image a spec names, or undefined (CRI reports a missing image as none, not as an error). */
  find(spec: Pick<ImageSpec, 'image'> | null | undefined, field = 'image'): ImageDetails | undefined {
    if (!spec?.image) throw invalidArgument(`${field}.image`, 'required');
    try {
      return findImage(this.store, spec.image, this.defaultRegistry);
    } catch (e) {
      if ((e as PodrunError).code !== 'ENOTFOUND') throw e;
    }
    // name:tag@digest (and repo@digest under another name): the digest decides, as containerd resolves it
    const digest = /@(sha256:[0-9a-f]{64})$/.exec(spec.image)?.[1];
    return digest ? listImages(this.store).find((i) => i.manifestDigest === digest) : undefined;
  }

  list(filter?: string): CriImage[] {
    const all = listImages(this.store);
    if (!filter) return all.map(criImage);
    const hit = this.find({ image: filter }, 'filter.image');
    return hit ? [criImage(hit)] : [];
  }

  /** Pull through the registry's mirrors (hosts.toml) in order, the image recorded under the name asked. */
  async pull(spec: ImageSpec | null, auth: { username: string; password: string; auth: string } | null): Promise<ImageDetails> {
    if (!spec?.image) throw invalidArgument('image.image', 'required');
    let ref;
    try {
      ref = parseImageRef(spec.image, this.defaultRegistry);
    } catch (e) {
      throw invalidArgument('image.image', (e as Error).message);
    }
    const name = formatImageRef(ref);
    const credentials = credentialsOf(auth);
    const r = this.config.registries ?? {};
    const errors: string[] = [];
    for (const ep of registryEndpoints(r.configPath, ref.registry, r.insecure)) {
      const source = formatImageRef({ ...ref, registry: ep.host });
      try {
        const img = await pullImage(source, { dataRoot: this.dataRoot, insecure: ep.insecure, name, credentials, authFile: r.authFile, defaultRegistry: this.defaultRegistry });
        return findImage(this.store, img.id);
      } catch (e) {
        errors.push(`${ep.insecure ? 'http' : 'https'}://${ep.host}: ${(e as Error).message}`);
      }
    }
    throw new PodrunError('EREGISTRY', `pulling ${spec.image}: ${errors.join('; ')}`);
  }

  /** Every name of the image goes (as containerd does); a missing image is not an error. */
  async remove(spec: ImageSpec | null): Promise<void> {
    const img = this.find(spec);
    if (img) await removeImageByName(img.id, { dataRoot: this.dataRoot, force: true });
  }

  /** Bytes and inodes of the store's blobs and unpacked layers (not the pods' writable layers, nor what is mounted). */
  fsUsage(): { mountpoint: string; usedBytes: number; inodesUsed: number } {
    const parts = ['blobs', 'layers'].map((d) => diskUsage(path.join(this.dataRoot, d)));
    return { mountpoint: this.dataRoot, usedBytes: parts.reduce((n, p) => n + p.bytes, 0), inodesUsed: parts.reduce((n, p) => n + p.inodes, 0) };
  }
}

/** The request's credentials: username/password, or `auth` (base64 of user:password). */
function credentialsOf(a: { username: string; password: string; auth: string } | null): Credentials | undefined {
  if (!a) return undefined;
  if (a.username) return { username: a.username, password: a.password };
  if (a.auth) {
    const text = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i < 0) throw invalidArgument('auth.auth', 'is not base64 of user:password');
    return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  return undefined;
}
