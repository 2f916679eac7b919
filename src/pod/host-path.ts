/** hostPath volumes: what `type` asks of the host path, checked (or made)
 * before any container starts, as kubelet's hostPath checker does. */
import fs from 'node:fs';
import { PodrunError } from '../errors';

/** each type but "" (no check): what the path must be, in words for the error */
const KINDS: Record<string, [(s: fs.Stats) => boolean, string]> = {
  DirectoryOrCreate: [(s) => s.isDirectory(), 'a directory'],
  Directory: [(s) => s.isDirectory(), 'a directory'],
  FileOrCreate: [(s) => s.isFile(), 'a file'],
  File: [(s) => s.isFile(), 'a file'],
  Socket: [(s) => s.isSocket(), 'a socket'],
  CharDevice: [(s) => s.isCharacterDevice(), 'a character device'],
  BlockDevice: [(s) => s.isBlockDevice(), 'a block device'],
};

/** the values of hostPath.type the API server takes */
export const HOST_PATH_TYPES: readonly string[] = ['', ...Object.keys(KINDS)];

/** field: `spec.volumes[i].hostPath` */
export function prepareHostPath(hostPath: { path: string; type?: string }, field: string): void {
  const { path: p, type = '' } = hostPath;
  if (type === 'DirectoryOrCreate') fs.mkdirSync(p, { recursive: true, mode: 0o755 });
  // kubelet makes the file, not its directory
  if (type === 'FileOrCreate' && !fs.existsSync(p)) fs.closeSync(fs.openSync(p, fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o644));
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new PodrunError('ENOTFOUND', `${field}.path: ${p} does not exist`, { field: `${field}.path` });
  }
  const kind = KINDS[type];
  if (kind && !kind[0](st)) throw new PodrunError('EINVALID_CONFIG', `${field}.type: ${p} is not ${kind[1]} (type ${type})`, { field: `${field}.type` });
}
