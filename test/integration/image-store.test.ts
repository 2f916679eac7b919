/** The image store end to end as root: load OCI layouts and docker-save
 * archives, run a container on the overlay of the loaded layers, compare
 * the tree with umoci's, verify digests, survive kill -9, share layers,
 * remove and prune. */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ImageStore, loadImage, mountRootfs, removeRootfs } from '../../src/image';
import { importImage, type PullEvent } from '../../src/image/pull';
import { OciLayoutProvider } from '../../src/image/sources/oci-layout';
import { fixtures, podrunBin, runCmd, runScript, snapshotHost, tempDir } from '../helpers';

/** entries of a directory that may never have been made */
const ls = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
const podrun = (dataRoot: string, ...args: string[]) => runCmd(podrunBin, ['--data-root', dataRoot, ...args]);

/** Every path of a tree with type, mode, owner, size, link target and content hash. */
function treeOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(p)}`;
    else if (st.isFile()) what += ` ${st.size} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16)}`;
    else if (st.isCharacterDevice() || st.isBlockDevice()) what += ` dev ${st.rdev}`;
    if (rel) out.set(rel, what);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(rel, n));
  };
  walk('');
  return out;
}

async function mountedImage(t: Test, dataRoot: string, image: string): Promise<string> {
  const store = new ImageStore(dataRoot);
  const shown = await podrun(dataRoot, 'image', 'inspect', image);
  t.equal(shown.code, 0, shown.stderr);
  const layers = (JSON.parse(shown.stdout) as Array<{ rootfs: { diffIds: string[] } }>)[0].rootfs.diffIds;
  const dir = path.join(dataRoot, 'ctr');
  const p = mountRootfs(store, layers, dir);
  t.teardown(() => removeRootfs(dir));
  return p.rootfs;
}

t.test('load an OCI layout, run a container on its overlay rootfs', async (t) => {
  const fx = await fixtures();
  const before = await snapshotHost();
  for (const kind of ['gzip', 'zstd']) {
    await t.test(kind, async (t) => {
      const dataRoot = await tempDir(t, 'podrun-data-');
      const load = await podrun(dataRoot, 'load', '-q', fx.images[`layered-${kind}`]);
      t.equal(load.code, 0, load.stderr);
      t.match(load.stdout, /^sha256:[a-f0-9]{64}\n$/, 'prints the image id');
      const list = JSON.parse((await podrun(dataRoot, 'images', '--json')).stdout) as Array<{ names: string[]; layers: number }>;
      t.same(list.map((i) => [i.names, i.layers]), [[[`localhost/layered-${kind}:latest`], 3]]);
      const rootfs = await mountedImage(t, dataRoot, `localhost/layered-${kind}`);
      const r = await runScript(t, [
        'test -e /etc/remove-me && echo WHITEOUT-FAILED',
        'cat /etc/keep-me',
        'ls /opt/olddir',
        'cat /usr/share/podrun/hardlink.txt /usr/share/podrun/symlink.txt',
        'stat -c %h /usr/share/podrun/target.txt',
        'echo written > /upper-file',
      ].join('; '), (c) => {
        c.root = { path: rootfs, readonly: false };
      });
      t.equal(r.code, 0, r.stderr);
      t.equal(r.stdout, 'kept\nnew\ntarget from layer 3\ntarget from layer 3\n2\n', 'whiteout applied, opaque dir, hardlink, symlink');
      t.equal(fs.readFileSync(path.join(dataRoot, 'ctr', 'upper', 'upper-file'), 'utf8'), 'written\n', 'writes land in the container\'s upper dir');
      const store = new ImageStore(dataRoot);
      for (const l of store.listLayers()) t.notOk(fs.existsSync(path.join(store.layerDir(l), 'upper-file')), 'layers stay untouched');
    });
  }
  const after = await snapshotHost();
  t.same(after.mounts, before.mounts, 'no mounts left');
});

t.test('same tree as umoci unpack', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  t.equal((await podrun(dataRoot, 'load', '-q', fx.images['layered-gzip'])).code, 0);
  const ours = await mountedImage(t, dataRoot, 'localhost/layered-gzip');
  const work = await tempDir(t, 'podrun-umoci-');
  fs.cpSync(fx.images['layered-gzip'], path.join(work, 'layout'), { recursive: true });
  execFileSync('umoci', ['unpack', '--image', `${path.join(work, 'layout')}:latest`, path.join(work, 'bundle')], { stdio: 'pipe' });
  const theirs = treeOf(path.join(work, 'bundle', 'rootfs'));
  const mine = treeOf(ours);
  t.ok(theirs.size > 250, `umoci unpacked ${theirs.size} paths`);
  const diff = [...new Set([...theirs.keys(), ...mine.keys()])].filter((k) => theirs.get(k) !== mine.get(k)).map((k) => `${k}: umoci ${theirs.get(k)} / podrun ${mine.get(k)}`);
  t.same(diff, [], 'same paths, types, modes, owners, sizes, contents, link targets');
});

t.test('docker save archives load too', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  const work = await tempDir(t);
  const archive = path.join(work, 'save.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${fx.images['layered-gzip']}:latest`, `docker-archive:${archive}:example.com/team/app:v1`], { stdio: 'pipe' });
  const load = await podrun(dataRoot, 'load', '-i', archive);
  t.equal(load.code, 0, load.stderr);
  t.match(load.stdout, /^example\.com\/team\/app:v1 sha256:/);
  const again = await podrun(dataRoot, 'load', `docker-archive:${archive}:example.com/team/app:v1`);
  t.equal(again.code, 0, again.stderr);
  const rootfs = await mountedImage(t, dataRoot, 'example.com/team/app:v1');
  t.equal(fs.readFileSync(path.join(rootfs, 'opt/olddir/new'), 'utf8'), 'new from layer 2\n');
  t.notOk(fs.existsSync(path.join(rootfs, 'etc/remove-me')));
  const wrong = await podrun(dataRoot, 'load', `docker-archive:${archive}:nope:v2`);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /no image tagged nope:v2 \(has: example\.com\/team\/app:v1\)/);
});

t.test('a corrupt blob fails with both digests and leaves nothing', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  const work = await tempDir(t);
  const layout = path.join(work, 'layout');
  fs.cpSync(fx.images['layered-gzip'], layout, { recursive: true });
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(fs.readFileSync(path.join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
  const victim = path.join(layout, 'blobs/sha256', manifest.layers[1].digest.slice(7));
  const bytes = fs.readFileSync(victim);
  bytes[bytes.length - 10] ^= 0xff;
  fs.writeFileSync(victim, bytes);
  const r = await podrun(dataRoot, 'load', layout);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`content digest sha256:[a-f0-9]{64} does not match the expected ${manifest.layers[1].digest}`));
  const store = new ImageStore(dataRoot);
  t.notOk(store.hasBlob(manifest.layers[1].digest), 'no blob under the expected digest');
  t.same(fs.readdirSync(path.join(dataRoot, 'tmp')), [], 'no partial download');
  t.same(JSON.parse((await podrun(dataRoot, 'images', '--json')).stdout), [], 'no image recorded');
  const prune = await podrun(dataRoot, 'image', 'prune', '--json');
  t.equal(prune.code, 0, prune.stderr);
  t.same(store.listBlobs(), [], 'prune frees the verified blobs of the failed load');
  t.same(store.listLayers(), []);
});

t.test('concurrent loads of the same image unpack each layer once', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  const store = new ImageStore(dataRoot);
  const events: PullEvent[] = [];
  const one = () => importImage(store, new OciLayoutProvider(fx.images['layered-gzip'], undefined), { onEvent: (e) => events.push(e) });
  const [a, b] = await Promise.all([one(), one(), one()]);
  t.equal(a.id, b.id);
  const unpacked = events.filter((e) => e.kind === 'layer-done' && e.unpacked).length;
  const cached = events.filter((e) => (e.kind === 'layer-done' && !e.unpacked) || e.kind === 'layer-cached').length;
  t.equal(unpacked, 3, 'three layers unpacked in all');
  t.equal(cached, 6, 'the other two loads reused them');
  // in other processes too
  const loads = await Promise.all([1, 2, 3].map(() => podrun(dataRoot, 'load', '-q', fx.images['layered-zstd'])));
  for (const l of loads) t.equal(l.code, 0, l.stderr);
  t.equal(new Set(loads.map((l) => l.stdout)).size, 1);
});

t.test('kill -9 mid-load, then load again and prune: consistent', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  for (const delay of [30, 60, 90, 120, 150, 180, 210, 240, 300, 400]) {
    let pid = 0;
    const p = runCmd(podrunBin, ['--data-root', dataRoot, 'load', '-q', fx.images['busybox-zstd']], { onSpawn: (x) => (pid = x) });
    await new Promise((r) => setTimeout(r, delay));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already done */
    }
    await p;
    const imgs = JSON.parse((await podrun(dataRoot, 'images', '--json')).stdout) as Array<{ id: string }>;
    const store = new ImageStore(dataRoot);
    for (const i of imgs) {
      const shown = JSON.parse((await podrun(dataRoot, 'image', 'inspect', i.id)).stdout) as Array<{ rootfs: { diffIds: string[] } }>;
      for (const d of shown[0].rootfs.diffIds) t.ok(store.layerInfo(d), 'a recorded image has all its layers');
    }
    const rm = await podrun(dataRoot, 'rmi', 'localhost/busybox-zstd');
    t.ok(rm.code === 0 || /not in the store/.test(rm.stderr), rm.stderr);
    const prune = await podrun(dataRoot, 'image', 'prune', '--json');
    t.equal(prune.code, 0, prune.stderr);
  }
  const store = new ImageStore(dataRoot);
  t.same([store.listBlobs(), store.listLayers(), ls(path.join(dataRoot, 'tmp'))], [[], [], []], 'prune left nothing behind');
  t.same(ls(path.join(dataRoot, 'leases')), [], 'leases of killed loads are gone');
  const ok = await podrun(dataRoot, 'load', '-q', fx.images['busybox-zstd']);
  t.equal(ok.code, 0, ok.stderr);
});

t.test('shared layers survive rmi of one image; prune frees the rest', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  t.equal((await podrun(dataRoot, 'load', '--name', 'one:a', fx.images['busybox-gzip'])).code, 0);
  t.equal((await podrun(dataRoot, 'load', '--name', 'one:b', fx.images['busybox-gzip'])).code, 0);
  t.equal((await podrun(dataRoot, 'load', '--name', 'two', fx.images['layered-gzip'])).code, 0);
  const store = new ImageStore(dataRoot);
  t.equal(store.listLayers().length, 4, 'busybox layer + 3 layered');
  let r = await podrun(dataRoot, 'rmi', 'one:a');
  t.equal(r.stdout, 'Untagged: docker.io/library/one:a\n', 'a second name only untags');
  r = await podrun(dataRoot, 'rmi', 'one:b');
  t.match(r.stdout, /Untagged: docker\.io\/library\/one:b\nDeleted: sha256:/);
  t.equal(store.listLayers().length, 3, 'its layer went, the other image\'s stayed');
  r = await podrun(dataRoot, 'rmi', 'two');
  t.equal(r.code, 0);
  t.same([store.listBlobs(), store.listLayers()], [[], []]);
  r = await podrun(dataRoot, 'rmi', 'ghost');
  t.equal(r.code, 1);
  t.match(r.stderr, /image ghost is not in the store/);
});

t.test('library: loadImage detects the source kind', async (t) => {
  const fx = await fixtures();
  const dataRoot = await tempDir(t, 'podrun-data-');
  const img = await loadImage(fx.images['busybox-gzip'], { dataRoot, name: 'lib/test:1' });
  t.equal(img.name, 'docker.io/lib/test:1');
  t.same(img.config.config?.Cmd, ['sh']);
  await t.rejects(loadImage(path.join(dataRoot, 'nope'), { dataRoot }), /no such file or directory/);
});
