/** Layer unpacking as root: every tar entry type lands with its metadata,
 * whiteouts become overlayfs whiteouts, and every layer of the malicious
 * corpus is refused or kept inside its directory. */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { EVIL_DIR, maliciousLayers } from '../../rootfs-fixtures/malicious';
import { buildTar } from '../../rootfs-fixtures/tar-builder';
import { unpackLayer } from '../../src/image/unpack-layer';
import { nativeFs } from '../../src/native';
import { tempDir } from '../helpers';

const fsx = nativeFs();
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function unpackBuffer(dir: string, tar: Buffer, opts: { gzip?: boolean; whiteouts?: 'overlay' | 'apply'; dest?: string } = {}) {
  const blob = path.join(dir, `blob-${Math.random().toString(16).slice(2)}`);
  fs.writeFileSync(blob, opts.gzip ? gzipSync(tar) : tar);
  const dest = opts.dest ?? path.join(dir, 'layer');
  fs.mkdirSync(dest, { recursive: true });
  return unpackLayer({ blob, dest, compression: 'auto', diffId: sha(tar), whiteouts: opts.whiteouts });
}

t.test('every entry type, with owners, modes, times, xattrs', async (t) => {
  const dir = await tempDir(t);
  const mtime = new Date(1_600_000_000_000);
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep
  const tar = buildTar([
    { path: 'usr/', type: 'Directory', mode: 0o750, uid: 12, gid: 34, mtime },
    { path: 'usr/bin/', type: 'Directory', mode: 0o755, mtime },
    { path: 'usr/bin/suid', type: 'File', mode: 0o4755, uid: 1000, gid: 1000, mtime, body: '#!/bin/sh\n' },
    { path: 'usr/bin/sgid', type: 'File', mode: 0o2711, gid: 50, mtime, body: 'x' },
    { path: 'usr/bin/ping', type: 'File', mode: 0o755, mtime, body: 'ping', pax: { 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.note': 'hi' } },
    { path: 'usr/bin/hard', type: 'Link', linkpath: 'usr/bin/suid' },
    { path: 'usr/bin/sym', type: 'SymbolicLink', linkpath: 'suid', uid: 7, gid: 8, mtime },
    { path: 'dev/null', type: 'CharacterDevice', devmaj: 1, devmin: 3, mode: 0o666 },
    { path: 'dev/loop9', type: 'BlockDevice', devmaj: 7, devmin: 9, mode: 0o660, gid: 6 },
    { path: 'run/fifo', type: 'FIFO', mode: 0o620 },
    { path: 'tmp/', type: 'Directory', mode: 0o1777 },
    { path: 'etc/.wh.gone', type: 'File', body: '' },
    { path: 'opt/.wh..wh..opq', type: 'File', body: '' },
    { path: `deep/${'n'.repeat(150)}/file`, type: 'File', body: 'long path' },
  ]);
  const r = await unpackBuffer(dir, tar, { gzip: true });
  const L = (p: string): string => path.join(dir, 'layer', p);
  t.equal(r.diffId, sha(tar), 'diffID is the sha256 of the uncompressed tar');
  t.equal(r.stats.whiteouts, 2);
  const usr = fs.lstatSync(L('usr'));
  t.same([usr.mode & 0o7777, usr.uid, usr.gid, usr.mtimeMs], [0o750, 12, 34, mtime.getTime()], 'directory mode, owner and mtime (set after its children)');
  const suid = fs.lstatSync(L('usr/bin/suid'));
  t.same([suid.mode & 0o7777, suid.uid, suid.gid, suid.mtimeMs], [0o4755, 1000, 1000, mtime.getTime()], 'setuid survives chown');
  t.equal(fs.lstatSync(L('usr/bin/sgid')).mode & 0o7777, 0o2711, 'setgid');
  t.same(fsx.lgetxattr(L('usr/bin/ping'), 'security.capability'), cap, 'file capability xattr');
  t.equal(fsx.lgetxattr(L('usr/bin/ping'), 'user.note')?.toString(), 'hi');
  t.equal(fs.lstatSync(L('usr/bin/hard')).ino, suid.ino, 'hardlink shares the inode');
  const sym = fs.lstatSync(L('usr/bin/sym'));
  t.ok(sym.isSymbolicLink());
  t.same([fs.readlinkSync(L('usr/bin/sym')), sym.uid, sym.gid, sym.mtimeMs], ['suid', 7, 8, mtime.getTime()], 'symlink target, owner (lchown) and time (lutimes)');
  const nul = fs.lstatSync(L('dev/null'));
  t.ok(nul.isCharacterDevice());
  t.same([nul.rdev >> 8, nul.rdev & 0xff, nul.mode & 0o777], [1, 3, 0o666], 'char device 1:3');
  const loop = fs.lstatSync(L('dev/loop9'));
  t.ok(loop.isBlockDevice());
  t.same([loop.rdev >> 8, loop.rdev & 0xff, loop.gid], [7, 9, 6]);
  t.ok(fs.lstatSync(L('run/fifo')).isFIFO());
  t.equal(fs.lstatSync(L('tmp')).mode & 0o7777, 0o1777, 'sticky bit');
  const wo = fs.lstatSync(L('etc/gone'));
  t.ok(wo.isCharacterDevice() && wo.rdev === 0, '.wh.gone became a 0/0 whiteout device');
  t.equal(fsx.lgetxattr(L('opt'), 'trusted.overlay.opaque')?.toString(), 'y', 'opaque marker became the overlay xattr');
  t.notOk(fs.existsSync(L('etc/.wh.gone')));
  t.equal(fs.readFileSync(L(`deep/${'n'.repeat(150)}/file`), 'utf8'), 'long path');
});

t.test('apply mode deletes instead (a flattened tree)', async (t) => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'flat');
  await unpackBuffer(dir, buildTar([
    { path: 'a/1', type: 'File', body: '1' }, { path: 'a/2', type: 'File', body: '2' }, { path: 'b', type: 'File', body: 'b' },
  ]), { whiteouts: 'apply', dest });
  await unpackBuffer(dir, buildTar([
    { path: 'a/3', type: 'File', body: '3' }, { path: 'a/.wh..wh..opq', type: 'File' }, { path: '.wh.b', type: 'File' },
  ]), { whiteouts: 'apply', dest });
  t.same(fs.readdirSync(path.join(dest, 'a')), ['3'], 'opaque dir keeps only this layer\'s entries');
  t.notOk(fs.existsSync(path.join(dest, 'b')));
});

t.test('a diffID mismatch fails', async (t) => {
  const dir = await tempDir(t);
  const tar = buildTar([{ path: 'f', type: 'File', body: 'x' }]);
  const blob = path.join(dir, 'b');
  fs.writeFileSync(blob, tar);
  fs.mkdirSync(path.join(dir, 'l'));
  await t.rejects(unpackLayer({ blob, dest: path.join(dir, 'l'), compression: 'none', diffId: `sha256:${'0'.repeat(64)}` }), /does not match its diffID: expected sha256:0+, got sha256:/);
});

t.test('malicious corpus: refused, or kept inside the layer', async (t) => {
  const passwdBefore = fs.readFileSync('/etc/passwd');
  for (const m of maliciousLayers()) {
    await t.test(`${m.name}: ${m.what}`, async (t) => {
      const sandbox = await tempDir(t, 'podrun-evil-sandbox-');
      const blob = path.join(sandbox, 'blob');
      fs.writeFileSync(blob, m.tar);
      const layer = path.join(sandbox, 'layer');
      fs.mkdirSync(layer);
      let error: Error | undefined;
      try {
        await unpackLayer({ blob, dest: layer, compression: 'none' }, fsx);
      } catch (e) {
        error = e as Error;
      }
      if (m.expect === 'reject') {
        t.ok(error, 'refused');
        if (error && m.reason) t.match(error.message, m.reason, error.message);
      } else {
        t.error(error, 'unpacked');
        for (const c of m.check ?? []) {
          const st = fs.lstatSync(path.join(layer, c.path), { throwIfNoEntry: false });
          if (c.is === 'absent') t.notOk(st, `${c.path} absent`);
          else if (c.is === 'file') t.ok(st?.isFile(), `${c.path} is a file inside the layer`);
          else if (c.is === 'dir') t.ok(st?.isDirectory(), `${c.path} is a directory`);
          else if (c.is === 'symlink') t.ok(st?.isSymbolicLink(), `${c.path} is a symlink`);
          else if (c.is === 'whiteout') t.ok(st?.isCharacterDevice() && st.rdev === 0, `${c.path} is a whiteout`);
          if (c.content !== undefined) t.equal(fs.readFileSync(path.join(layer, c.path), 'utf8'), c.content);
        }
        if (m.name === 'overlay-xattr') t.equal(fsx.lgetxattr(path.join(layer, 'd'), 'trusted.overlay.redirect'), null, 'trusted.overlay.* from a layer is dropped');
      }
      t.same(fs.readdirSync(sandbox).sort(), ['blob', 'layer'], 'nothing written beside the layer');
      t.notOk(fs.existsSync(EVIL_DIR), `${EVIL_DIR} never created`);
      t.notOk(fs.existsSync(path.join(path.dirname(sandbox), 'podrun-evil-escape')), 'no escape into the parent');
      t.same(fs.readFileSync('/etc/passwd'), passwdBefore, '/etc/passwd untouched');
    });
  }
});

t.test('later entries see earlier ones, though small files are written on another thread', async (t) => {
  const dir = await tempDir(t);
  await unpackBuffer(dir, buildTar([
    { path: 'dup', type: 'File', body: 'first' },
    { path: 'dup', type: 'File', body: 'second' },
    { path: 'becomes-dir', type: 'File', body: 'x' },
    { path: 'becomes-dir', type: 'Directory', mode: 0o755 },
    { path: 'becomes-dir/inner', type: 'File', body: 'inner' },
    { path: 'src', type: 'File', body: 'linked', mode: 0o640 },
    { path: 'hl', type: 'Link', linkpath: 'src' },
    { path: 'gone', type: 'File', body: 'x' },
    { path: 'gone', type: 'SymbolicLink', linkpath: 'src' },
    { path: 'big', type: 'File', body: Buffer.alloc(3 << 20, 7) },
    { path: 'big', type: 'File', body: 'small now' },
  ]));
  const L = (p: string): string => path.join(dir, 'layer', p);
  t.equal(fs.readFileSync(L('dup'), 'utf8'), 'second', 'a repeated path: the last entry wins');
  t.equal(fs.readFileSync(L('becomes-dir/inner'), 'utf8'), 'inner', 'a file replaced by a directory');
  t.equal(fs.lstatSync(L('hl')).ino, fs.lstatSync(L('src')).ino, 'hardlink to a file written just before');
  t.equal(fs.lstatSync(L('src')).mode & 0o777, 0o640);
  t.equal(fs.readlinkSync(L('gone')), 'src', 'a file replaced by a symlink');
  t.equal(fs.readFileSync(L('big'), 'utf8'), 'small now', 'a large file replaced by a small one');
});

/** Feed a tar to the native unpacker in chunks of `chunk` bytes. */
function unpackChunked(dest: string, tar: Buffer, chunk: number): { diffId: string } {
  fs.mkdirSync(dest, { recursive: true });
  const u = new fsx.LayerUnpacker(dest, false);
  try {
    for (let i = 0; i < tar.length; i += chunk) u.write(tar.subarray(i, i + chunk));
    return u.finish();
  } catch (e) {
    u.abort();
    throw e;
  }
}

t.test('tar framing: every entry type, PAX, GNU long names, at any chunking', async (t) => {
  const dir = await tempDir(t);
  const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
  const tar = buildTar([
    { path: 'dir', type: 'Directory', mode: 0o755, uid: 1234, gid: 5678, mtime: new Date(1_700_000_000_000) },
    { path: 'dir/file', type: 'File', mode: 0o4755, body: 'hello\n' },
    { path: 'dir/link', type: 'SymbolicLink', linkpath: 'file' },
    { path: 'dir/hard', type: 'Link', linkpath: 'dir/file' },
    { path: 'dev/null', type: 'CharacterDevice', devmaj: 1, devmin: 3 },
    { path: 'dev/loop0', type: 'BlockDevice', devmaj: 7, devmin: 0 },
    { path: 'fifo', type: 'FIFO' },
    { path: 'x', type: 'File', body: 'pax', pax: { path: long, 'SCHILY.xattr.user.bin': Buffer.from([0, 1, 2, 0x0a, 0]), 'LIBARCHIVE.xattr.user.b%20x': Buffer.from('aGk=').toString(), uid: '100000', mtime: '1700000000.5' } },
    { path: 'y', type: 'File', body: '', gnuLongPath: `gnu/${'g'.repeat(200)}` },
  ]);
  for (const chunk of [1, 7, 512, 513, 100000]) {
    const L = (p: string): string => path.join(dir, String(chunk), p);
    const r = unpackChunked(path.join(dir, String(chunk)), tar, chunk);
    t.equal(r.diffId, sha(tar), `diffID (chunk ${chunk})`);
    const d = fs.lstatSync(L('dir'));
    t.same([d.uid, d.gid, d.mtimeMs], [1234, 5678, 1_700_000_000_000], 'directory owner and time');
    t.equal(fs.lstatSync(L('dir/file')).mode & 0o7777, 0o4755, 'setuid kept');
    t.equal(fs.readFileSync(L('dir/file'), 'utf8'), 'hello\n');
    t.equal(fs.readlinkSync(L('dir/link')), 'file');
    t.equal(fs.lstatSync(L('dir/hard')).ino, fs.lstatSync(L('dir/file')).ino);
    const nul = fs.lstatSync(L('dev/null'));
    t.same([nul.isCharacterDevice(), nul.rdev >> 8, nul.rdev & 0xff], [true, 1, 3]);
    t.ok(fs.lstatSync(L('dev/loop0')).isBlockDevice());
    t.ok(fs.lstatSync(L('fifo')).isFIFO());
    const x = fs.lstatSync(L(long));
    t.same([x.uid, x.mtimeMs], [100000, 1_700_000_000_500], 'PAX path, uid and fractional mtime');
    t.equal(fs.readFileSync(L(long), 'utf8'), 'pax');
    t.same(fsx.lgetxattr(L(long), 'user.bin'), Buffer.from([0, 1, 2, 0x0a, 0]), 'binary xattr with NUL and newline survives');
    t.equal(fsx.lgetxattr(L(long), 'user.b x')?.toString(), 'hi', 'LIBARCHIVE.xattr: name percent-decoded, value base64');
    t.ok(fs.lstatSync(L(`gnu/${'g'.repeat(200)}`)).isFile(), 'GNU long name');
  }
});

t.test('tar framing: truncation, garbage and unknown types are errors', async (t) => {
  const dir = await tempDir(t);
  const tar = buildTar([{ path: 'f', type: 'File', body: 'x'.repeat(2000) }]);
  await t.rejects(unpackBuffer(dir, tar.subarray(0, 1000), { dest: path.join(dir, 'a') }), { name: 'TarFormatError', message: /truncated \(at byte \d+\)/ });
  await t.rejects(unpackBuffer(dir, Buffer.alloc(1024, 7), { dest: path.join(dir, 'b') }), { name: 'TarFormatError', message: /checksum/ });
  await t.rejects(unpackBuffer(dir, buildTar([{ path: 's', type: 'SparseFile' as never, body: 'x' }]), { dest: path.join(dir, 'c') }), /unsupported tar entry type "S" \(SparseFile\) for "s"/);
});

t.test('path rules: / dropped, .. and NUL refused, symlinks judged from their own directory', async (t) => {
  const dir = await tempDir(t);
  let n = 0;
  const unpack = (entries: Parameters<typeof buildTar>[0]) => unpackBuffer(dir, buildTar(entries), { dest: path.join(dir, `l${++n}`) });
  await unpack([{ path: './a/b/', type: 'Directory', mode: 0o700 }, { path: '/etc/passwd', type: 'File', body: 'inside' }, { path: '.', type: 'Directory', mode: 0o711 }]);
  t.equal(fs.lstatSync(path.join(dir, 'l1/a/b')).mode & 0o777, 0o700, './a/b/ is a/b');
  t.equal(fs.readFileSync(path.join(dir, 'l1/etc/passwd'), 'utf8'), 'inside', 'a leading / is dropped');
  t.equal(fs.lstatSync(path.join(dir, 'l1')).mode & 0o777, 0o711, '"." is the layer root');
  await t.rejects(unpack([{ path: 'a/../b', type: 'File' }]), { name: 'UnsafePathError', message: /"a\/\.\.\/b": path contains "\.\."/ });
  await t.rejects(unpack([{ path: 'x', type: 'File', pax: { path: 'a\0b' } }]), /NUL byte in path/);
  await unpack([{ path: 'a/b', type: 'SymbolicLink', linkpath: '../c' }, { path: 'a/d', type: 'SymbolicLink', linkpath: '..' }, { path: 'a/b2/c/e', type: 'SymbolicLink', linkpath: 'd/../../e' }, { path: 'x', type: 'SymbolicLink', linkpath: '/etc/passwd' }]);
  t.equal(fs.readlinkSync(path.join(dir, 'l4/a/d')), '..', 'links that stay inside are kept');
  await t.rejects(unpack([{ path: 'a/b', type: 'SymbolicLink', linkpath: '../..' }]), /"a\/b": symlink target "\.\.\/\.\." points outside the layer/);
  await t.rejects(unpack([{ path: 'x', type: 'SymbolicLink', linkpath: '../etc' }]), /points outside the layer/);
  await t.rejects(unpack([{ path: '.wh.', type: 'File' }]), /whiteout of "" is invalid/);
  await t.rejects(unpack([{ path: 'hl', type: 'Link', linkpath: '.' }]), /hardlink to the layer root/);
});

t.test('modes set at creation, owners only where they differ: a setgid directory does not lend its group', async (t) => {
  const dir = await tempDir(t);
  await unpackBuffer(dir, buildTar([
    { path: 'g/', type: 'Directory', mode: 0o2775, gid: 50 },
    { path: 'g/root-owned', type: 'File', mode: 0o640, body: 'x' },
    { path: 'g/sub/', type: 'Directory', mode: 0o755 },
    { path: 'plain', type: 'File', mode: 0o4711, body: 'y' },
    { path: 'ro', type: 'File', mode: 0o444, body: 'z' },
  ]));
  const L = (p: string): fs.Stats => fs.lstatSync(path.join(dir, 'layer', p));
  t.same([L('g/root-owned').gid, L('g/root-owned').mode & 0o7777], [0, 0o640], 'the entry\'s group, not the setgid directory\'s');
  t.equal(L('g').mode & 0o7777, 0o2775);
  t.same([L('plain').uid, L('plain').mode & 0o7777], [0, 0o4711], 'setuid at creation');
  t.equal(L('ro').mode & 0o7777, 0o444, 'a read-only file still got its body');
  t.equal(fs.readFileSync(path.join(dir, 'layer', 'ro'), 'utf8'), 'z');
});

t.test('compressed input: gzip members and zstd frames decoded in-process; cut or corrupt input is an error', async (t) => {
  const dir = await tempDir(t);
  const tar = buildTar([{ path: 'a', type: 'File', body: randomBytes(300_000) }, { path: 'b', type: 'File', body: 'bee' }]); // incompressible: a cut is mid-stream
  const zst = execFileSync('zstd', ['-q', '-c', '-3'], { input: tar });
  const unpack = async (name: string, blob: Buffer) => {
    fs.writeFileSync(path.join(dir, `${name}.blob`), blob);
    fs.mkdirSync(path.join(dir, name));
    return unpackLayer({ blob: path.join(dir, `${name}.blob`), dest: path.join(dir, name), compression: 'auto', diffId: sha(tar) });
  };
  t.equal((await unpack('zstd', zst)).stats.files, 2, 'zstd');
  t.equal(fs.readFileSync(path.join(dir, 'zstd/b'), 'utf8'), 'bee');
  const two = Buffer.concat([gzipSync(tar.subarray(0, 100_000)), gzipSync(tar.subarray(100_000))]);
  t.equal((await unpack('members', two)).diffId, sha(tar), 'gzip: two members read as one stream');
  await t.rejects(unpack('cut-gzip', gzipSync(tar).subarray(0, 2000)), /gzip: unexpected end of file/);
  await t.rejects(unpack('cut-zstd', zst.subarray(0, zst.length - 10)), /zstd: unexpected end of file|zstd: /);
  const bad = gzipSync(tar);
  bad.fill(0x55, 20, 200);
  await t.rejects(unpack('bad-gzip', bad), /gzip: /);
});

t.test('a PAX size is for the next real entry, not for a GNU long-name header between them', async (t) => {
  const dir = await tempDir(t);
  await unpackBuffer(dir, buildTar([
    { path: 'y', type: 'File', body: 'abc', pax: { size: '3' }, gnuLongPath: `long/${'n'.repeat(120)}` },
    { path: 'after', type: 'File', body: 'still framed' },
  ]));
  t.equal(fs.readFileSync(path.join(dir, 'layer', `long/${'n'.repeat(120)}`), 'utf8'), 'abc');
  t.equal(fs.readFileSync(path.join(dir, 'layer', 'after'), 'utf8'), 'still framed');
});
