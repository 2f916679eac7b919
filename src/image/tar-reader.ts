/** A synchronous, push-based tar reader. node-tar's `Header` decodes each
 * 512-byte header (checksums, base-256 numbers, ustar prefix); the framing
 * and PAX records are read here because node-tar's parser drops
 * `SCHILY.xattr.*` records and cuts values at the first NUL — layers carry
 * capabilities and other binary xattrs that must survive. Handlers run
 * synchronously inside `write()`, so a caller can apply entries with sync
 * syscalls without any buffering of file bodies. */
import type { Header as TarHeader } from 'tar';

// loaded on first use: requiring node-tar costs ~15 ms, and most commands never read a layer
let HeaderClass: typeof TarHeader | undefined;
const Header = (): typeof TarHeader => (HeaderClass ??= (require('tar') as typeof import('tar')).Header);

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** path as stored (not normalised) */
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  atime?: Date;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** extended attributes from PAX SCHILY.xattr.* / LIBARCHIVE.xattr.* */
  xattrs: Map<string, Buffer>;
}

export interface TarHandlers {
  entry(e: TarEntry): void;
  /** a slice of the current file's body (valid only during the call) */
  data(chunk: Buffer): void;
  /** the current entry's body is complete */
  end(): void;
}

export class TarFormatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'TarFormatError';
  }
}

interface PaxRecords {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  atime?: Date;
  xattrs: Map<string, Buffer>;
}

const TYPES: Record<string, TarEntryType | undefined> = {
  File: 'file', OldFile: 'file', ContiguousFile: 'file', Link: 'hardlink', SymbolicLink: 'symlink',
  Directory: 'directory', CharacterDevice: 'char', BlockDevice: 'block', FIFO: 'fifo',
};

const BLOCK = 512;
/** shared by every entry without xattrs (readers never modify it) */
const NO_XATTRS: Map<string, Buffer> = new Map();

/** Parse the records of a PAX extended header body; binary-safe values. */
export function parsePax(body: Buffer, into: PaxRecords, offset: number): PaxRecords {
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // trailing NUL padding
    const space = body.indexOf(0x20, pos);
    const len = Number(body.toString('latin1', pos, space));
    if (space < 0 || !Number.isInteger(len) || len <= 0 || pos + len > body.length) {
      throw new TarFormatError('malformed PAX record', offset);
    }
    const rec = body.subarray(space + 1, pos + len - 1); // drop the trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('PAX record without "="', offset);
    const key = rec.toString('utf8', 0, eq);
    const value = rec.subarray(eq + 1);
    applyPaxRecord(into, key, value);
    pos += len;
  }
  return into;
}

function applyPaxRecord(into: PaxRecords, key: string, value: Buffer): void {
  const text = (): string => value.toString('utf8');
  switch (key) {
    case 'path': into.path = text(); return;
    case 'linkpath': into.linkpath = text(); return;
    case 'size': into.size = Number(text()); return;
    case 'uid': into.uid = Number(text()); return;
    case 'gid': into.gid = Number(text()); return;
    case 'mtime': into.mtime = new Date(Number(text()) * 1000); return;
    case 'atime': into.atime = new Date(Number(text()) * 1000); return;
    default:
      if (key.startsWith('SCHILY.xattr.')) into.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
      else if (key.startsWith('LIBARCHIVE.xattr.')) {
        into.xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value.toString('latin1'), 'base64'));
      }
  }
}

type State = 'header' | 'body' | 'meta' | 'skip' | 'done';

export class TarReader {
  #pending: Buffer[] = [];
  #pendingLen = 0;
  #state: State = 'header';
  #remain = 0; // body bytes left in the current entry
  #pad = 0; // padding after the body
  #offset = 0; // absolute stream offset of #pending[0]
  #meta: { kind: 'pax' | 'gpax' | 'longpath' | 'longlink'; chunks: Buffer[] } | null = null;
  #pax: PaxRecords | null = null;
  #globalPax: PaxRecords = { xattrs: new Map() };
  #longPath?: string;
  #longLink?: string;
  #zeroBlocks = 0;

  constructor(private readonly handlers: TarHandlers) {}

  /** true once the end-of-archive marker was read */
  get done(): boolean {
    return this.#state === 'done';
  }

  write(chunk: Buffer): void {
    let buf = chunk;
    while (buf.length > 0 && this.#state !== 'done') {
      if (this.#state === 'body' || this.#state === 'skip' || this.#state === 'meta') {
        buf = this.#consumeBody(buf);
        continue;
      }
      // header: need a whole 512-byte block
      const need = BLOCK - this.#pendingLen;
      if (buf.length < need) {
        this.#pending.push(buf);
        this.#pendingLen += buf.length;
        return;
      }
      let block: Buffer;
      if (this.#pendingLen > 0) {
        this.#pending.push(buf.subarray(0, need));
        block = Buffer.concat(this.#pending, BLOCK);
        this.#pending = [];
        this.#pendingLen = 0;
      } else block = buf.subarray(0, BLOCK);
      buf = buf.subarray(need);
      this.#onHeader(block);
      this.#offset += BLOCK;
    }
  }

  /** Call at end of input: a truncated archive is an error. */
  finish(): void {
    // ending on an entry boundary without the two zero blocks is common and harmless
    if (this.#state === 'done' || (this.#state === 'header' && this.#pendingLen === 0)) return;
    throw new TarFormatError('archive is truncated', this.#offset);
  }

  #consumeBody(buf: Buffer): Buffer {
    if (this.#remain > 0) {
      const n = Math.min(this.#remain, buf.length);
      const part = buf.subarray(0, n);
      if (this.#state === 'body') this.handlers.data(part);
      else if (this.#state === 'meta') this.#meta?.chunks.push(Buffer.from(part));
      this.#remain -= n;
      this.#offset += n;
      buf = buf.subarray(n);
      if (this.#remain > 0) return buf;
      if (this.#state === 'body') this.handlers.end();
      else if (this.#state === 'meta') this.#finishMeta();
    }
    const p = Math.min(this.#pad, buf.length);
    this.#pad -= p;
    this.#offset += p;
    buf = buf.subarray(p);
    if (this.#pad === 0) this.#state = 'header';
    return buf;
  }

  #onHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (++this.#zeroBlocks >= 2) this.#state = 'done';
      return;
    }
    this.#zeroBlocks = 0;
    const h = new (Header())(block, 0);
    if (!h.cksumValid) throw new TarFormatError('bad header checksum (not a tar stream, or corrupt)', this.#offset);
    const size = this.#pax?.size ?? h.size ?? 0;
    const typeName = h.type;
    if (typeName === 'ExtendedHeader' || typeName === 'GlobalExtendedHeader' || typeName === 'NextFileHasLongPath' || typeName === 'NextFileHasLongLinkpath' || typeName === 'OldGnuLongPath') {
      const kind = typeName === 'ExtendedHeader' ? 'pax' : typeName === 'GlobalExtendedHeader' ? 'gpax' : typeName === 'NextFileHasLongLinkpath' ? 'longlink' : 'longpath';
      if (size > 1 << 20) throw new TarFormatError(`${typeName} header of ${size} bytes is too large`, this.#offset);
      this.#meta = { kind, chunks: [] };
      this.#beginBody('meta', size);
      if (size === 0) this.#finishMeta();
      return;
    }
    const type = TYPES[typeName];
    if (!type) throw new TarFormatError(`unsupported tar entry type ${JSON.stringify(typeName)} for ${JSON.stringify(h.path)}`, this.#offset);
    const pax = this.#pax;
    const g = this.#globalPax;
    const entry: TarEntry = {
      path: this.#longPath ?? pax?.path ?? g.path ?? h.path ?? '',
      type,
      mode: (h.mode ?? 0) & 0o7777,
      uid: pax?.uid ?? g.uid ?? h.uid ?? 0,
      gid: pax?.gid ?? g.gid ?? h.gid ?? 0,
      size: type === 'file' ? size : 0,
      mtime: pax?.mtime ?? g.mtime ?? h.mtime ?? new Date(0),
      atime: pax?.atime ?? g.atime,
      linkpath: this.#longLink ?? pax?.linkpath ?? g.linkpath ?? h.linkpath ?? '',
      devmajor: h.devmaj ?? 0,
      devminor: h.devmin ?? 0,
      xattrs: g.xattrs.size === 0 && !pax?.xattrs.size ? NO_XATTRS : new Map([...g.xattrs, ...(pax?.xattrs ?? [])]),
    };
    this.#pax = null;
    this.#longPath = undefined;
    this.#longLink = undefined;
    this.handlers.entry(entry);
    if (type === 'file') {
      this.#beginBody('body', size);
      if (size === 0) this.handlers.end();
    } else this.#beginBody('skip', size);
  }

  #beginBody(state: State, size: number): void {
    this.#state = state;
    this.#remain = size;
    this.#pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0 && this.#pad === 0) this.#state = 'header';
  }

  #finishMeta(): void {
    const meta = this.#meta;
    if (!meta) return;
    this.#meta = null;
    const body = Buffer.concat(meta.chunks);
    if (meta.kind === 'pax') this.#pax = parsePax(body, this.#pax ?? { xattrs: new Map() }, this.#offset);
    else if (meta.kind === 'gpax') parsePax(body, this.#globalPax, this.#offset);
    else {
      const nul = body.indexOf(0);
      const name = body.toString('utf8', 0, nul < 0 ? body.length : nul);
      if (meta.kind === 'longpath') this.#longPath = name;
      else this.#longLink = name;
    }
  }
}
