/** The blobs of an OCI image layout, by digest: what a test reads and adds to make a variant of a fixture image
 * (another platform, another config). */
import fs from 'node:fs';
import path from 'node:path';
import { sha256Of } from '../../src/image/digest';

export function layoutBlobs(layout: string): {
  file: (digest: string) => string;
  readJson: <T>(digest: string) => T;
  put: (data: string) => { digest: string; size: number };
} {
  const file = (digest: string): string => path.join(layout, 'blobs/sha256', digest.slice(7));
  return {
    file,
    readJson: <T>(digest: string): T => JSON.parse(fs.readFileSync(file(digest), 'utf8')) as T,
    put: (data: string) => {
      const digest = sha256Of(data);
      fs.writeFileSync(file(digest), data);
      return { digest, size: Buffer.byteLength(data) };
    },
  };
}
