/** The on-disk image store under a data root:
 *   blobs/sha256/<hex>         content-addressed blobs, verified on the way in
 *   layers/<hex>/fs            one unpacked layer per diffID (overlay lowerdir)
 *   layers/<hex>/layer.json    its size and entry counts
 *   images.json                images by manifest digest, with their names
 *   tmp/                       in-flight downloads and unpacks (pid-tagged)
 *   locks/                     cross-process lock files
 * Everything lands by rename from tmp/, so an interrupted command leaves
 * only tmp/ entries of a dead pid, which the next writer sweeps. */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PodrunError } from '../errors';
import { nativeFs } from '../native';
import { writeFileAtomic } from '../util/atomic-file';
import { defaultRoot } from '../util/rootless';
import { withFileLock } from '../util/file-lock';
import { isSameProcess, processStartTime } from '../util/process-identity';
import { DigestCounter, digestHex, digestMismatch, sha256Of } from './digest';

/** /var/lib/podrun; rootless, the user's (~/.local/share/podrun) */
export const DEFAULT_DATA_ROOT = defaultRoot('data', '/var/lib/podrun');

export interface LayerInfo {
  diffId: string;
  /** bytes of file content */
  size: number;
  entries: number;
}

export interface ImageEntry {
  names: string[];
  /** when it was stored, ISO 8601 */
  stored: string;
}

/** images.json: image manifests by digest. A name belongs to one image. */
export interface ImagesFile {
  images: Record<string, ImageEntry>;
}

export class ImageStore {
  readonly dataRoot: string;

  constructor(dataRoot: string = DEFAULT_DATA_ROOT) {
    this.dataRoot = path.resolve(dataRoot);
  }

  // ---- blobs ---------------------------------------------------------------
  blobPath(digest: string): string {
    return path.join(this.dataRoot, 'blobs', 'sha256', digestHex(digest));
  }

  hasBlob(digest: string): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  /** Stream a blob in, hashing as it goes; on a digest or size mismatch
   * nothing is left behind. Already-present blobs are not rewritten. */
  async putBlob(input: Readable | AsyncIterable<Buffer>, expected: { digest: string; size?: number }, what: string, onBytes?: (n: number) => void): Promise<void> {
    const final = this.blobPath(expected.digest);
    const tmp = this.tmpPath('blob');
    const counter = new DigestCounter();
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        counter.update(chunk);
        if (expected.size !== undefined && counter.bytes > expected.size) {
          throw new PodrunError('EDIGEST', `${what}: more than the ${expected.size} bytes its descriptor declares`);
        }
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off);
        onBytes?.(chunk.length);
      }
      if (expected.size !== undefined && counter.bytes !== expected.size) {
        throw new PodrunError('EDIGEST', `${what}: got ${counter.bytes} bytes, its descriptor declares ${expected.size}`);
      }
      const actual = counter.digest();
      if (actual !== expected.digest) throw digestMismatch(what, expected.digest, actual);
      fs.fsyncSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    fs.mkdirSync(path.dirname(final), { recursive: true });
    fs.renameSync(tmp, final);
  }

  /** Store small content (manifests, configs) and return its digest. */
  putBlobBytes(data: Buffer, expectedDigest?: string, what = 'blob'): string {
    const digest = sha256Of(data);
    if (expectedDigest && digest !== expectedDigest) throw digestMismatch(what, expectedDigest, digest);
    const final = this.blobPath(digest);
    if (!fs.existsSync(final)) {
      fs.mkdirSync(path.dirname(final), { recursive: true });
      writeFileAtomic(final, data, 0o644);
    }
    return digest;
  }

  /** Read a stored blob, re-verifying it (used for small JSON documents). */
  readBlob(digest: string, what = 'blob'): Buffer {
    let data: Buffer;
    try {
      data = fs.readFileSync(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new PodrunError('ENOTFOUND', `${what} ${digest} is not in the store (${this.dataRoot})`);
      throw e;
    }
    const actual = sha256Of(data);
    if (actual !== digest) throw digestMismatch(`${what} in the store (corrupt)`, digest, actual);
    return data;
  }

  listBlobs(): string[] {
    try {
      return fs.readdirSync(path.join(this.dataRoot, 'blobs', 'sha256')).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
    } catch {
      return [];
    }
  }

  removeBlob(digest: string): void {
    fs.rmSync(this.blobPath(digest), { force: true });
  }

  // ---- layers --------------------------------------------------------------
  layerRoot(diffId: string): string {
    return path.join(this.dataRoot, 'layers', digestHex(diffId, 'diffID'));
  }

  /** The unpacked tree of a layer (an overlay lowerdir). */
  layerDir(diffId: string): string {
    return path.join(this.layerRoot(diffId), 'fs');
  }

  layerInfo(diffId: string): LayerInfo | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.layerRoot(diffId), 'layer.json'), 'utf8')) as LayerInfo;
    } catch {
      return undefined;
    }
  }

  listLayers(): string[] {
    try {
      return fs.readdirSync(path.join(this.dataRoot, 'layers')).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
    } catch {
      return [];
    }
  }

  /** Unpack a layer once: concurrent callers (in this or other processes)
   * wait for the one doing it. `unpack` fills an empty directory. */
  async ensureLayer(diffId: string, unpack: (dir: string) => Promise<Omit<LayerInfo, 'diffId'>>): Promise<{ info: LayerInfo; unpacked: boolean }> {
    const have = this.layerInfo(diffId);
    if (have) return { info: have, unpacked: false };
    return withFileLock(this.lockPath(`layer-${digestHex(diffId)}`), async () => {
      const again = this.layerInfo(diffId);
      if (again) return { info: again, unpacked: false };
      const work = this.tmpPath('layer');
      const tree = path.join(work, 'fs');
      fs.mkdirSync(tree, { recursive: true, mode: 0o755 });
      try {
        const info: LayerInfo = { diffId, ...(await unpack(tree)) };
        fs.writeFileSync(path.join(work, 'layer.json'), `${JSON.stringify(info)}\n`);
        const final = this.layerRoot(diffId);
        fs.mkdirSync(path.dirname(final), { recursive: true });
        fs.rmSync(final, { recursive: true, force: true }); // a layer dir without layer.json is debris
        fs.renameSync(work, final);
        return { info, unpacked: true };
      } catch (e) {
        fs.rmSync(work, { recursive: true, force: true });
        throw e;
      }
    });
  }

  removeLayer(diffId: string): void {
    const root = this.layerRoot(diffId);
    // rename first: a reader never sees half a tree under the real name
    const doomed = this.tmpPath('rm');
    try {
      fs.renameSync(root, doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    fs.rmSync(doomed, { recursive: true, force: true });
  }

  // ---- names ---------------------------------------------------------------
  readImages(): ImagesFile {
    const file = path.join(this.dataRoot, 'images.json');
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as ImagesFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { images: {} };
      throw new PodrunError('EIMAGE', `${file} is unreadable: ${(e as Error).message}`);
    }
  }

  /** Read-modify-write of images.json under its lock. */
  async updateImages<T>(change: (doc: ImagesFile) => T): Promise<T> {
    return withFileLock(this.lockPath('images'), async () => {
      const doc = this.readImages();
      const before = JSON.stringify(doc);
      const result = change(doc);
      if (JSON.stringify(doc) === before) return result; // e.g. a pull of what the name already points at
      fs.mkdirSync(this.dataRoot, { recursive: true });
      writeFileAtomic(path.join(this.dataRoot, 'images.json'), `${JSON.stringify(doc, null, 2)}\n`, 0o644);
      return result;
    });
  }

  /** Record an image (by manifest digest), moving `name` to it if given. */
  async recordImage(manifestDigest: string, name?: string): Promise<void> {
    await this.updateImages((doc) => {
      if (name) for (const e of Object.values(doc.images)) e.names = e.names.filter((n) => n !== name);
      const entry = (doc.images[manifestDigest] ??= { names: [], stored: new Date().toISOString() });
      if (name && !entry.names.includes(name)) entry.names.push(name);
    });
  }

  // ---- scratch space -------------------------------------------------------
  /** A fresh path under tmp/ tagged with our pid and start time. */
  tmpPath(kind: string): string {
    const dir = path.join(this.dataRoot, 'tmp');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return path.join(dir, `${kind}-${process.pid}-${processStartTime(process.pid) ?? 0}-${nativeFs().randomHex(4)}`);
  }

  lockPath(name: string): string {
    return path.join(this.dataRoot, 'locks', `${name}.lock`);
  }

  /** Remove tmp/ entries whose creating process is gone. Returns how many. */
  sweepTmp(): number {
    const dir = path.join(this.dataRoot, 'tmp');
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const n of names) {
      const m = /^[a-z]+-(\d+)-(\d+)-[0-9a-f]+$/.exec(n);
      if (m && isSameProcess(Number(m[1]), Number(m[2]))) continue;
      fs.rmSync(path.join(dir, n), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
