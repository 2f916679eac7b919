/** Extract an image archive (a tar of an OCI layout or a `docker save`) into
 * scratch space with node-tar (which refuses ".." and writes through
 * symlinks). Only files, directories and symlinks (docker's legacy format
 * links repeated layer.tar files) are accepted; readers of the extracted
 * tree must resolve paths with `fileInside`, never follow a link out. */
import fs from 'node:fs';
import path from 'node:path';
const tar = (): typeof import('tar') => require('tar') as typeof import('tar'); // loaded on use
import { PodrunError } from '../../errors';

export async function extractArchive(file: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const problems: string[] = [];
  try {
    await tar().x({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (p, entry) => {
        const type = 'type' in entry ? entry.type : 'File';
        const ok = type === 'File' || type === 'OldFile' || type === 'Directory' || type === 'SymbolicLink';
        if (!ok) problems.push(`${p} (${type})`);
        return ok;
      },
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new PodrunError('EIMAGE', `${file}: not a readable tar archive: ${(e as Error).message}`, { cause: e });
  }
  if (problems.length > 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new PodrunError('EIMAGE', `${file}: unexpected entries in an image archive: ${problems.slice(0, 3).join(', ')}`);
  }
}

/** The real path of `rel` inside `dir`, refusing anything that resolves outside. */
export function fileInside(dir: string, rel: string, source: string): string {
  let real: string;
  try {
    real = fs.realpathSync(path.join(dir, rel));
  } catch {
    throw new PodrunError('EIMAGE', `${source}: ${rel} is missing`);
  }
  const root = fs.realpathSync(dir);
  if (!real.startsWith(`${root}/`)) throw new PodrunError('EUNSAFE', `${source}: ${rel} resolves outside the archive`);
  if (!fs.statSync(real).isFile()) throw new PodrunError('EIMAGE', `${source}: ${rel} is not a file`);
  return real;
}
