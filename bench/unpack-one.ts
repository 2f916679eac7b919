/** `node dist/bench/unpack-one.js BLOB DEST`: unpack one layer blob into an
 * existing directory, as the image store does (used by bench/unpack.ts). */
import { unpackLayer } from '../src/image/unpack-layer';

const [blob, dest] = process.argv.slice(2);
unpackLayer({ blob: blob as string, dest: dest as string, compression: 'auto' }).catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
});
