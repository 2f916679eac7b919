/** Pure path rules for unpacking untrusted layers. An entry name becomes a
 * list of components under the layer root; anything that would climb out is
 * refused, never silently rewritten into something else. */

export class UnsafePathError extends Error {
  constructor(readonly entry: string, reason: string) {
    super(`${JSON.stringify(entry)}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

/** Components of an entry name relative to the layer root. A leading "/" is
 * dropped (as GNU tar does); ".." anywhere is refused: a layer has no
 * business naming a path through its parent. Returns [] for the root. */
export function entryComponents(name: string): string[] {
  if (name.includes('\0')) throw new UnsafePathError(name, 'NUL byte in path');
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new UnsafePathError(name, 'path contains ".." (would leave the layer)');
    parts.push(c);
  }
  return parts;
}

/** Whether a symlink stored at `components` with `target` points outside the
 * root when resolved lexically from its own directory — Docker refuses such
 * links in layers, and so do we. Absolute targets are rooted at the
 * container root, so they never escape. */
export function symlinkEscapes(components: string[], target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = components.length - 1; // the link's directory
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (--depth < 0) return true;
    } else depth++;
  }
  return false;
}

/** Overlay/OCI whiteout naming. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type WhiteoutKind = { kind: 'opaque' } | { kind: 'whiteout'; name: string } | null;

/** What a base name means as a whiteout; `entry` names the tar entry in errors. */
export function whiteoutOf(base: string, entry: string): WhiteoutKind {
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (!base.startsWith(WHITEOUT_PREFIX)) return null;
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') throw new UnsafePathError(entry, `whiteout of ${JSON.stringify(name)} is invalid`);
  return { kind: 'whiteout', name };
}
