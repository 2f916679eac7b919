/** The generated OCI image layouts are well-formed and contain what the
 * image tests rely on: verified digests, a whiteout, an opaque dir, links. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { fixtures } from '../helpers';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blob(layout: string, digest: string): Buffer {
  const data = readFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)));
  if (sha(data) !== digest) throw new Error(`blob ${digest} does not match its content`);
  return data;
}

function tarList(raw: Buffer): string {
  return execFileSync('tar', ['-tvf', '-'], { input: raw, encoding: 'utf8' });
}

t.test('image layouts: digests, diff_ids, layer contents', async (t) => {
  const fx = await fixtures();
  for (const [name, layout] of Object.entries(fx.images)) {
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(blob(layout, index.manifests[0].digest).toString());
    const config = JSON.parse(blob(layout, manifest.config.digest).toString());
    const zstd = name.endsWith('zstd');
    const raws = manifest.layers.map((l: { digest: string; mediaType: string }) => {
      t.equal(l.mediaType, `application/vnd.oci.image.layer.v1.tar+${zstd ? 'zstd' : 'gzip'}`);
      const data = blob(layout, l.digest);
      return zstd ? execFileSync('zstd', ['-d', '-c'], { input: data, maxBuffer: 1 << 28 }) : gunzipSync(data);
    });
    t.same(config.rootfs.diff_ids, raws.map(sha), `${name}: diff_ids are the uncompressed layer digests`);
    if (name.startsWith('layered')) {
      t.equal(raws.length, 3);
      const [, l2, l3] = raws.map(tarList);
      t.match(l2, /etc\/\.wh\.remove-me/, 'whiteout');
      t.match(l2, /opt\/olddir\/\.wh\.\.wh\.\.opq/, 'opaque dir');
      t.match(l3, /hardlink\.txt link to \.\/usr\/share\/podrun\/target\.txt|usr\/share\/podrun\/(hardlink|target)\.txt link to/, 'hardlink');
      t.match(l3, /symlink\.txt -> target\.txt/, 'symlink');
    } else {
      t.equal(raws.length, 1);
      t.match(tarList(raws[0]), /bin\/busybox/);
    }
  }
});

t.test('the CLI bundle stays lean: no zod (validation is the build-time ajv validator)', async (t) => {
  const bundle = readFileSync(path.join(__dirname, '..', '..', 'cli.js'), 'utf8');
  t.notMatch(bundle, /node_modules\/zod\//, 'zod is not bundled');
  t.ok(bundle.length < 400_000, `bundle is ${bundle.length} bytes`);
});
