/** A readable of the uncompressed bytes of a layer blob. gzip runs in
 * zlib's thread pool; zstd (Node 20 has none) in Debian's `zstd` binary. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from './media-types';

export function openDecompressed(file: string, compression: Compression): Readable {
  if (compression === 'none') return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 1 << 17 });
    const src = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    src.on('error', (e) => gunzip.destroy(e));
    return src.pipe(gunzip);
  }
  const fd = fs.openSync(file, 'r');
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: [fd, 'pipe', 'pipe'] }) as ChildProcessByStdio<null, Readable, Readable>;
  fs.closeSync(fd);
  const out = child.stdout;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', (e: NodeJS.ErrnoException) => {
    out.destroy(new Error(e.code === 'ENOENT' ? 'zstd layers need the zstd program (apt-get install zstd)' : `zstd: ${e.message}`));
  });
  child.on('close', (code) => {
    if (code !== 0) out.destroy(new Error(`zstd -d failed (exit ${code}): ${stderr.trim()}`));
  });
  return out;
}
