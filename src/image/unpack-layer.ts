/** One layer blob → one directory: decompress, hash the tar stream (its
 * sha256 is the layer's diffID), apply the entries. All of it runs in
 * native code off the JS thread (native/image/layer_unpacker.cc): decompression
 * (gzip with Node's zlib, zstd with libzstd), the framing + path rules +
 * syscalls, and the hash each on a thread of their own. A diffID mismatch, a
 * malformed archive or an unsafe entry fails the whole layer; the caller
 * removes the half-written directory. */
import fs from 'node:fs';
import { nativeFs, type NativeFsApi, type NativeLayerStats } from '../native';
import { sniffCompression, type Compression } from './media-types';

/** overlay: whiteouts become overlayfs whiteouts (0/0 char devices,
 * `trusted.overlay.opaque`) so layer directories stack as lowerdirs;
 * apply: they delete, for a flattened tree */
export type WhiteoutMode = 'overlay' | 'apply';
export type LayerStats = NativeLayerStats;

export interface UnpackRequest {
  /** the (possibly compressed) layer blob */
  blob: string;
  /** existing directory to fill */
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

/** An entry that would write outside the layer, or makes no sense in one. */
export class UnsafePathError extends Error {
  constructor(readonly entry: string, reason: string) {
    super(`${JSON.stringify(entry)}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

export class TarFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'TarFormatError';
  }
}

export class DiffIdMismatchError extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`layer content does not match its diffID: expected ${expected}, got ${actual}`);
    this.name = 'DiffIdMismatchError';
  }
}

/** The native unpacker's failure as the error class callers know. */
function fromNative(e: unknown): unknown {
  const n = e as Error & { kind?: string; entry?: string; offset?: number };
  if (n.kind === 'unsafe') return new UnsafePathError(n.entry ?? '', n.message);
  if (n.kind === 'format') return new TarFormatError(n.message, n.offset ?? 0);
  return e; // a syscall's failure carries code, syscall and path like Node's
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

export async function unpackLayer(req: UnpackRequest, fsx: Pick<NativeFsApi, 'LayerUnpacker'> = nativeFs()): Promise<UnpackResult> {
  const compression = req.compression === 'auto' ? detectCompression(req.blob) : req.compression;
  const fd = fs.openSync(req.blob, 'r');
  let result;
  try {
    const unpacker = new fsx.LayerUnpacker(req.dest, (req.whiteouts ?? 'overlay') === 'apply', fd, compression); // owns the fd now
    result = await unpacker.done();
  } catch (e) {
    throw fromNative(e);
  }
  if (req.diffId && req.diffId !== result.diffId) throw new DiffIdMismatchError(req.diffId, result.diffId);
  return result;
}
