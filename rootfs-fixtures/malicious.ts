/** A corpus of hostile layers. Each must either be refused with a reason
 * matching `reason`, or unpack with every write kept inside the layer
 * (`contained`), with `check` naming what must hold afterwards. Absolute
 * targets point at EVIL_DIR, which tests assert never comes into being. */
import { buildTar, type BuildEntry } from './tar-builder';

export const EVIL_DIR = '/tmp/podrun-evil-target';

export interface MaliciousLayer {
  name: string;
  what: string;
  tar: Buffer;
  expect: 'reject' | 'contained';
  reason?: RegExp;
  /** for `contained`: paths (relative to the layer) and what they must be */
  check?: Array<{ path: string; is: 'file' | 'dir' | 'symlink' | 'absent' | 'whiteout'; content?: string }>;
}

const file = (path: string, body = 'pwned\n', extra: Partial<BuildEntry> = {}): BuildEntry => ({ path, type: 'File', body, ...extra });
const dir = (path: string): BuildEntry => ({ path, type: 'Directory', mode: 0o755 });
const sym = (path: string, linkpath: string): BuildEntry => ({ path, type: 'SymbolicLink', linkpath, mode: 0o777 });
const hard = (path: string, linkpath: string): BuildEntry => ({ path, type: 'Link', linkpath });

export function maliciousLayers(): MaliciousLayer[] {
  const L = (name: string, what: string, entries: BuildEntry[], rest: Omit<MaliciousLayer, 'name' | 'what' | 'tar'>): MaliciousLayer => ({ name, what, tar: buildTar(entries), ...rest });
  return [
    L('dotdot-file', 'a file named ../escape', [file('../podrun-evil-escape')], { expect: 'reject', reason: /"\.\."/ }),
    L('dotdot-nested', 'a path that climbs out through a subdirectory', [dir('a'), file('a/../../podrun-evil-escape')], { expect: 'reject', reason: /"\.\."/ }),
    L('absolute-file', 'an absolute path', [file(`${EVIL_DIR}/abs`)], { expect: 'contained', check: [{ path: `${EVIL_DIR.slice(1)}/abs`, is: 'file' }] }),
    L('pax-path-dotdot', 'a harmless header path overridden by a PAX path with ..', [file('harmless', 'x', { pax: { path: '../podrun-evil-pax' } })], { expect: 'reject', reason: /"\.\."/ }),
    L('gnu-longname-dotdot', 'a GNU long name that climbs out', [file('harmless', 'x', { gnuLongPath: `${'../'.repeat(40)}podrun-evil-gnu` })], { expect: 'reject', reason: /"\.\."/ }),
    L('symlink-abs-then-write', 'an absolute symlink, then a file written through it', [sym('link', EVIL_DIR), file('link/pwned')], {
      expect: 'contained', check: [{ path: 'link', is: 'symlink' }, { path: `${EVIL_DIR.slice(1)}/pwned`, is: 'file' }],
    }),
    L('symlink-rel-escape', 'a relative symlink pointing above the root', [sym('etc', '../../../../../../etc')], { expect: 'reject', reason: /points outside the layer/ }),
    L('symlink-nested-escape', 'a symlink in a subdirectory climbing two levels', [dir('a'), sym('a/b', '../..')], { expect: 'reject', reason: /points outside the layer/ }),
    L('symlink-dir-then-write', 'a symlink to a parent-relative dir, then a write through it', [dir('x'), sym('x/up', '..'), file('x/up/x/up/inside')], {
      expect: 'contained', check: [{ path: 'inside', is: 'file' }],
    }),
    L('hardlink-dotdot', 'a hardlink to ../../etc/passwd', [hard('pw', '../../etc/passwd')], { expect: 'reject', reason: /"\.\."/ }),
    L('hardlink-absolute', 'a hardlink to /etc/passwd (the host file)', [hard('pw', '/etc/passwd')], { expect: 'reject', reason: /does not exist/ }),
    L('hardlink-through-symlink', 'a hardlink through a symlink to /etc', [sym('s', '/etc'), hard('pw', 's/passwd')], { expect: 'reject', reason: /does not exist/ }),
    L('symlink-then-file-replace', 'a symlink to a host file, then a regular file of the same name', [sym('target', '/etc/passwd'), file('target', 'replaced\n')], {
      expect: 'contained', check: [{ path: 'target', is: 'file', content: 'replaced\n' }],
    }),
    L('symlink-then-dir-replace', 'a symlink to a host dir, then a directory of the same name and a file in it', [sym('d', EVIL_DIR), dir('d'), file('d/f')], {
      expect: 'contained', check: [{ path: 'd', is: 'dir' }, { path: 'd/f', is: 'file' }],
    }),
    L('symlink-loop', 'two symlinks pointing at each other, then a write through them', [sym('a', 'b'), sym('b', 'a'), file('a/x')], { expect: 'reject', reason: /too many levels/ }),
    L('whiteout-dotdot', 'a whiteout of ".."', [dir('a'), file('a/.wh..', '')], { expect: 'reject', reason: /whiteout of "\."/ }),
    L('whiteout-through-symlink', 'a whiteout under a symlink to /', [sym('root', '/'), file('root/.wh.etc', '')], {
      expect: 'contained', check: [{ path: 'etc', is: 'whiteout' }],
    }),
    L('overlay-xattr', 'a trusted.overlay.redirect xattr steering overlayfs', [{ path: 'd', type: 'Directory', mode: 0o755, pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } }], {
      expect: 'contained', check: [{ path: 'd', is: 'dir' }],
    }),
    L('file-through-file', 'a file written below a regular file', [file('f'), file('f/child')], { expect: 'reject', reason: /not a directory/ }),
    { name: 'truncated', what: 'an archive cut mid-body', tar: buildTar([file('big', 'x'.repeat(4096))]).subarray(0, 1500), expect: 'reject', reason: /truncated/ },
    { name: 'not-tar', what: 'random bytes', tar: Buffer.alloc(2048, 0x41), expect: 'reject', reason: /checksum/ },
  ];
}
