/** Generates the test fixtures from Debian's busybox-static: a rootfs, a
 * runtime bundle, and OCI image layouts (single-layer busybox; a 3-layer image
 * with a whiteout, an opaque directory, a hardlink and a symlink), each gzip-
 * and zstd-compressed. Output is cached outside git (rootfs-fixtures/.out,
 * or $PODRUN_FIXTURES) and rebuilt only when the inputs change. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { defaultSpec } from '../src/oci/default-spec';

const GENERATOR_VERSION = 4;
const BUSYBOX = process.env.PODRUN_BUSYBOX ?? '/bin/busybox';

export function fixturesDir(): string {
  return process.env.PODRUN_FIXTURES ?? path.resolve(__dirname, '..', '..', 'rootfs-fixtures', '.out');
}

export interface Fixtures {
  root: string;
  /** busybox rootfs (read-only use: tests mount tmpfs where they write) */
  rootfs: string;
  /** runtime bundle: config.json (defaultSpec, args ["sh"]) + rootfs */
  bundle: string;
  /** OCI image layouts by name: busybox-gzip, busybox-zstd, layered-gzip, layered-zstd */
  images: Record<string, string>;
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function populateRootfs(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  await chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) {
    if (a === 'bin/busybox') continue;
    await mkdir(path.join(dir, path.dirname(a)), { recursive: true });
    const rel = path.relative(path.dirname(path.join(dir, a)), path.join(dir, 'bin', 'busybox'));
    await symlink(rel, path.join(dir, a)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  for (const d of ['etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/user', 'var/run', 'mnt', 'data', 'opt']) await mkdir(path.join(dir, d), { recursive: true });
  await chmod(path.join(dir, 'tmp'), 0o1777);
  await writeFile(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(path.join(dir, 'etc/group'), 'root:x:0:\nuser:x:1000:\ntty:x:5:\nnogroup:x:65534:\n');
  execFileSync('chown', ['1000:1000', path.join(dir, 'home/user')]);
}

interface Layer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
}

async function tarDir(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.create({ cwd: dir, portable: false, noMtime: false, mtime: new Date(0) } as tar.TarOptionsWithAliasesAsyncNoFile, ['.']);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function compress(raw: Buffer, kind: 'gzip' | 'zstd'): Buffer {
  if (kind === 'gzip') return gzipSync(raw, { level: 6 });
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: raw, maxBuffer: 1 << 30 });
}

async function writeBlob(layout: string, data: Buffer | string): Promise<{ digest: string; size: number }> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const hex = sha256(buf);
  await writeFile(path.join(layout, 'blobs', 'sha256', hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
}

async function writeImage(layout: string, layerTars: Buffer[], kind: 'gzip' | 'zstd', refName: string): Promise<void> {
  await mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layers: Layer[] = [];
  for (const raw of layerTars) {
    const blob = await writeBlob(layout, compress(raw, kind));
    layers.push({ ...blob, diffId: `sha256:${sha256(raw)}`, mediaType: `application/vnd.oci.image.layer.v1.tar+${kind}` });
  }
  const config = {
    created: '2026-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'podrun rootfs-fixtures' })),
  };
  const cfg = await writeBlob(layout, JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const man = await writeBlob(layout, JSON.stringify(manifest));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: manifest.mediaType, ...man,
      annotations: { 'org.opencontainers.image.ref.name': refName },
      platform: { architecture: 'amd64', os: 'linux' },
    }],
  };
  await writeFile(path.join(layout, 'index.json'), JSON.stringify(index));
}

/** Upper layers of the 3-layer image; each a directory tree to tar. */
async function layeredTrees(work: string): Promise<string[]> {
  const l1 = path.join(work, 'l1');
  await populateRootfs(l1);
  await mkdir(path.join(l1, 'opt/olddir'), { recursive: true });
  await writeFile(path.join(l1, 'opt/olddir/a'), 'a from layer 1\n');
  await writeFile(path.join(l1, 'opt/olddir/b'), 'b from layer 1\n');
  await writeFile(path.join(l1, 'etc/remove-me'), 'deleted by layer 2\n');
  await writeFile(path.join(l1, 'etc/keep-me'), 'kept\n');

  const l2 = path.join(work, 'l2');
  await mkdir(path.join(l2, 'etc'), { recursive: true });
  await writeFile(path.join(l2, 'etc/.wh.remove-me'), '');
  await mkdir(path.join(l2, 'opt/olddir'), { recursive: true });
  await writeFile(path.join(l2, 'opt/olddir/.wh..wh..opq'), '');
  await writeFile(path.join(l2, 'opt/olddir/new'), 'new from layer 2\n');

  const l3 = path.join(work, 'l3');
  await mkdir(path.join(l3, 'usr/share/podrun'), { recursive: true });
  await writeFile(path.join(l3, 'usr/share/podrun/target.txt'), 'target from layer 3\n');
  await link(path.join(l3, 'usr/share/podrun/target.txt'), path.join(l3, 'usr/share/podrun/hardlink.txt'));
  await symlink('target.txt', path.join(l3, 'usr/share/podrun/symlink.txt'));
  return [l1, l2, l3];
}

async function inputsStamp(): Promise<string> {
  return sha256(`${GENERATOR_VERSION}:${sha256(await readFile(BUSYBOX))}`);
}

export async function ensureFixtures(): Promise<Fixtures> {
  const root = fixturesDir();
  const fixtures: Fixtures = {
    root,
    rootfs: path.join(root, 'busybox', 'rootfs'),
    bundle: path.join(root, 'busybox'),
    images: Object.fromEntries(['busybox-gzip', 'busybox-zstd', 'layered-gzip', 'layered-zstd'].map((n) => [n, path.join(root, 'images', n)])),
  };
  const stamp = await inputsStamp();
  const stampFile = path.join(root, 'STAMP');
  if (existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return fixtures;

  // build into a temp dir beside the target and rename: concurrent callers never see half a tree
  await mkdir(path.dirname(root), { recursive: true });
  const tmp = await mkdtemp(`${root}.tmp-`);
  try {
    await chmod(tmp, 0o755); // user-namespace containers traverse it as an unprivileged host uid
    const bundle = path.join(tmp, 'busybox');
    await populateRootfs(path.join(bundle, 'rootfs'));
    const spec = defaultSpec({ args: ['sh'] });
    await writeFile(path.join(bundle, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`);

    const work = path.join(tmp, 'work');
    const single = await tarDir(path.join(bundle, 'rootfs'));
    const layered = await Promise.all((await layeredTrees(work)).map(tarDir));
    for (const kind of ['gzip', 'zstd'] as const) {
      await writeImage(path.join(tmp, 'images', `busybox-${kind}`), [single], kind, 'latest');
      await writeImage(path.join(tmp, 'images', `layered-${kind}`), layered, kind, 'latest');
    }
    await rm(work, { recursive: true, force: true });
    await writeFile(path.join(tmp, 'STAMP'), stamp);
    const old = `${root}.old-${process.pid}`;
    if (existsSync(root)) await rename(root, old);
    await rename(tmp, root);
    await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return fixtures; // a concurrent run won
    throw e;
  }
  return fixtures;
}

if (require.main === module) {
  ensureFixtures().then(
    (f) => process.stdout.write(`fixtures ready in ${f.root}\n`),
    (e: unknown) => {
      process.stderr.write(`fixture generation failed: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
