/** `podrun oci spec`: write runc's default config.json, refusing to overwrite. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PodrunError, errnoCode } from '../errors';
import { defaultSpec } from '../oci/default-spec';

export async function writeDefaultSpec(bundle: string): Promise<void> {
  const file = path.join(bundle, 'config.json');
  try {
    await writeFile(file, `${JSON.stringify(defaultSpec(), null, '\t')}\n`, { flag: 'wx' });
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') throw new PodrunError('EEXIST', `File ${file} exists. Remove it first`);
    throw e;
  }
}
