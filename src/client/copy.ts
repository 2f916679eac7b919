/** Files into and out of a pod's container, as `kubectl cp` does it: a tar stream through an exec of the
 * container's own `tar`, so what is copied sees the container's view (its volumes too) and runs with its
 * privileges; the host never resolves a path inside the container. Coming back, the archive is the container's
 * and untrusted: only files, directories and symlinks are written, never through a symlink nor outside the
 * destination (node-tar's checks), owned by us, and without setuid/setgid/sticky bits. */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PodrunError } from '../errors';

const tar = (): typeof import('tar') => require('tar') as typeof import('tar'); // loaded on use

/** What to copy in: a host file or directory, bytes, or a tar stream (extracted at the target directory). */
export type CopySource = { path: string } | { content: string | Buffer; mode?: number } | { tar: Readable };

/** The archive member for `target` (an absolute path in the container): relative to /, without `..`. */
export function archivePath(target: string, field = 'target'): string {
  if (!target.startsWith('/')) throw new PodrunError('EINVALID_CONFIG', `${field}: ${JSON.stringify(target)} must be an absolute path in the container`, { field });
  const norm = path.posix.normalize(target);
  if (norm === '/') throw new PodrunError('EINVALID_CONFIG', `${field}: / cannot be replaced`, { field });
  return norm.slice(1).replace(/\/$/, '');
}

function tarHeader(name: string, size: number, mode: number, type: 'File' | 'Directory' = 'File'): Buffer {
  const header = new (tar().Header)({ path: name, mode, size, type, mtime: new Date(), uid: 0, gid: 0, uname: 'root', gname: 'root' });
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  return block;
}

function* emptyDirTar(name: string): Generator<Buffer> {
  yield tarHeader(`${name}/`, 0, 0o755, 'Directory');
  yield Buffer.alloc(1024);
}

/** One file as a tar stream: header, data (read as it goes), padding, end of archive. */
async function* singleFileTar(name: string, data: Buffer | { file: string; size: number }, mode: number): AsyncGenerator<Buffer> {
  const size = Buffer.isBuffer(data) ? data.length : data.size;
  yield tarHeader(name, size, mode);
  let sent = 0;
  if (Buffer.isBuffer(data)) {
    yield data;
    sent = data.length;
  } else {
    for await (const chunk of fs.createReadStream(data.file, { end: size - 1 })) {
      sent += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  if (sent !== size) throw new PodrunError('EINTERNAL', `${Buffer.isBuffer(data) ? 'content' : data.file} changed size while it was copied`);
  yield Buffer.alloc((512 - (size % 512)) % 512 + 1024);
}

/** The tar stream to extract in the container, and the command that does it. */
export function copyInArchive(target: string, source: CopySource): { archive: Readable; command: string[] } {
  const member = archivePath(target);
  if ('tar' in source) return { archive: source.tar, command: ['tar', '-x', '-f', '-', '-C', `/${member}`] };
  const atRoot = ['tar', '-x', '-f', '-', '-C', '/'];
  if ('content' in source) {
    const bytes = typeof source.content === 'string' ? Buffer.from(source.content) : source.content;
    return { archive: Readable.from(singleFileTar(member, bytes, source.mode ?? 0o644)), command: atRoot };
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(source.path);
  } catch (e) {
    throw new PodrunError('ENOTFOUND', `source: ${source.path}: ${(e as Error).message}`, { field: 'source' });
  }
  if (st.isFile()) return { archive: Readable.from(singleFileTar(member, { file: source.path, size: st.size }, st.mode & 0o777)), command: atRoot };
  if (!st.isDirectory()) throw new PodrunError('EINVALID_CONFIG', `source: ${source.path} is neither a file nor a directory`, { field: 'source' });
  // a directory's contents go under target, as `kubectl cp dir pod:target` (links are copied as links)
  const entries = fs.readdirSync(source.path);
  if (!entries.length) return { archive: Readable.from(emptyDirTar(member)), command: atRoot };
  const archive = tar().c({ cwd: source.path, portable: true, prefix: member }, entries);
  return { archive: archive as unknown as Readable, command: atRoot };
}

/** Extract a tar stream from a container into a host directory, refusing what could reach outside it. */
export async function extractUntrusted(archive: Readable, dest: string, onWarning?: (m: string) => void): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const skipped: string[] = [];
  const unpack = tar().x({
    cwd: dest,
    preserveOwner: false,
    filter: (p, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      if (type !== 'File' && type !== 'OldFile' && type !== 'Directory' && type !== 'SymbolicLink') {
        skipped.push(`${p} (${type})`);
        return false;
      }
      // a container's setuid-root file must not become one on the host
      if ('mode' in entry && typeof entry.mode === 'number') entry.mode &= 0o777;
      return true;
    },
    onwarn: (_code: string, message: string | Error) => skipped.push(String(message instanceof Error ? message.message : message)),
  });
  await pipeline(archive, unpack as unknown as NodeJS.WritableStream);
  for (const s of skipped) onWarning?.(`copy from the container: skipped ${s}`);
}

/** The first regular file of a tar stream. */
export async function firstFileOf(archive: Readable, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let found = false;
  const parser = new (tar().Parser)({
    onReadEntry: (entry) => {
      if (found || (entry.type !== 'File' && entry.type !== 'OldFile')) return void entry.resume();
      found = true;
      entry.on('data', (d: Buffer) => chunks.push(d));
    },
  });
  await pipeline(archive, parser as unknown as NodeJS.WritableStream);
  if (!found) throw new PodrunError('ENOTFOUND', `${what} is not a regular file`);
  return Buffer.concat(chunks);
}
