/** Builds tar streams entry by entry, including ones no honest tool would
 * write (for the malicious-layer corpus). Headers are encoded by node-tar's
 * `Header`; PAX records and GNU long names are written here so tests can
 * put anything in them. */
import { Header, type HeaderData } from 'tar';

export interface BuildEntry extends HeaderData {
  body?: Buffer | string;
  /** PAX records to put in an 'x' header before this entry (binary-safe values) */
  pax?: Record<string, string | Buffer>;
  /** write the path as a GNU 'L' long-name entry */
  gnuLongPath?: string;
}

function pad(buf: Buffer): Buffer {
  const rem = buf.length % 512;
  return rem === 0 ? buf : Buffer.concat([buf, Buffer.alloc(512 - rem)]);
}

function headerBlock(h: HeaderData): Buffer {
  const b = Buffer.alloc(512);
  new Header({ mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), uname: '', gname: '', ...h }).encode(b, 0);
  return b;
}

export function paxBody(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const value = typeof v === 'string' ? Buffer.from(v) : v;
    const rest = Buffer.concat([Buffer.from(` ${k}=`), value, Buffer.from('\n')]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    parts.push(Buffer.from(String(len)), rest);
  }
  return Buffer.concat(parts);
}

export function buildTar(entries: BuildEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const { body, pax, gnuLongPath, ...h } = e;
    if (pax) {
      const pb = paxBody(pax);
      out.push(headerBlock({ path: 'PaxHeader', type: 'ExtendedHeader', size: pb.length }), pad(pb));
    }
    if (gnuLongPath !== undefined) {
      const nb = Buffer.from(`${gnuLongPath}\0`);
      out.push(headerBlock({ path: '././@LongLink', type: 'NextFileHasLongPath', size: nb.length }), pad(nb));
    }
    const data = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    out.push(headerBlock({ ...h, size: data.length }));
    if (data.length) out.push(pad(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}
