/** A layer blob as an fd of bytes for the native unpacker: the blob itself
 * (plain, or gzip, which the unpacker inflates with Node's zlib), or for
 * zstd (Node 20 has none) a pipe from Debian's `zstd` binary. */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { NativeFsApi } from '../native';
import type { Compression } from './media-types';

export interface LayerInput {
  fd: number;
  gzip: boolean;
  /** resolves once a decompressor exited well; rejects with its complaint */
  finished: Promise<void>;
  /** stop a decompressor (the unpacker no longer reads) */
  kill(): void;
}

export function openLayerInput(file: string, compression: Compression, fsx: Pick<NativeFsApi, 'pipe'>): LayerInput {
  const blob = fs.openSync(file, 'r');
  if (compression !== 'zstd') return { fd: blob, gzip: compression === 'gzip', finished: Promise.resolve(), kill: () => undefined };
  const [r, w] = fsx.pipe();
  let child: ChildProcessByStdio<null, null, Readable>;
  try {
    child = spawn('zstd', ['-d', '-c', '-q'], { stdio: [blob, w, 'pipe'] }) as ChildProcessByStdio<null, null, Readable>;
  } finally {
    fs.closeSync(blob);
    fs.closeSync(w);
  }
  let stderr = '';
  let killed = false;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const finished = new Promise<void>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === 'ENOENT' ? 'zstd layers need the zstd program (apt-get install zstd)' : `zstd: ${e.message}`));
    });
    child.on('close', (code) => {
      if (code === 0 || killed) resolve();
      else reject(new Error(`zstd -d failed (exit ${code}): ${stderr.trim()}`));
    });
  });
  return {
    fd: r,
    gzip: false,
    finished,
    kill: () => {
      killed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
