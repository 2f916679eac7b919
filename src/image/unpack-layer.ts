/** One layer blob → one directory: decompress, hash the tar stream (its
 * sha256 is the layer's diffID), apply the entries. A diffID mismatch, a
 * malformed archive or an unsafe entry fails the whole layer; the caller
 * removes the half-written directory. */
import fs from 'node:fs';
import { nativeFs, type NativeFsApi } from '../native';
import { openDecompressed } from './decompress';
import { LayerWriter, type LayerStats, type WhiteoutMode } from './layer-writer';
import { sniffCompression, type Compression } from './media-types';
import { TarReader } from './tar-reader';

export interface UnpackRequest {
  /** the (possibly compressed) layer blob */
  blob: string;
  /** existing empty directory to fill */
  dest: string;
  compression: Compression | 'auto';
  /** expected sha256 of the uncompressed tar, `sha256:<hex>` */
  diffId?: string;
  whiteouts?: WhiteoutMode;
}

export interface UnpackResult {
  diffId: string;
  stats: LayerStats;
}

export class DiffIdMismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`layer content does not match its diffID: expected ${expected}, got ${actual}`);
    this.name = 'DiffIdMismatchError';
  }
}

function detectCompression(blob: string): Compression {
  const fd = fs.openSync(blob, 'r');
  try {
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    return sniffCompression(head);
  } finally {
    fs.closeSync(fd);
  }
}

export async function unpackLayer(req: UnpackRequest, fsx: Pick<NativeFsApi, 'mknod' | 'lsetxattr' | 'writeNewFileAt' | 'FileQueue' | 'HashThread'> = nativeFs()): Promise<UnpackResult> {
  const compression = req.compression === 'auto' ? detectCompression(req.blob) : req.compression;
  const writer = new LayerWriter(req.dest, fsx, req.whiteouts ?? 'overlay');
  const reader = new TarReader(writer);
  const hash = new fsx.HashThread(); // off the JS thread, which parses and applies
  const input = openDecompressed(req.blob, compression);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      hash.update(chunk);
      if (!reader.done) reader.write(chunk);
    }
    reader.finish();
    writer.finish();
  } catch (e) {
    writer.abort();
    hash.digest(); // ends its thread
    input.destroy();
    throw e;
  }
  const diffId = hash.digest();
  if (req.diffId && req.diffId !== diffId) throw new DiffIdMismatchError(req.diffId, diffId);
  return { diffId, stats: writer.stats };
}
