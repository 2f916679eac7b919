/** The server side of a SPDY/3.1 connection as kubelet's streaming clients
 * speak it (Go's moby/spdystream, under client-go's remotecommand and
 * portforward): the client opens streams (SYN_STREAM with its own headers,
 * no :method or :path — which is why no npm SPDY library takes them), the
 * server answers each (SYN_REPLY) and both send DATA frames, FIN to
 * half-close. Header blocks are zlib with the SPDY/3 dictionary, one
 * compression context per direction. spdystream enforces no flow control,
 * so WINDOW_UPDATE frames are neither needed nor sent. */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy3-dictionary';

const VERSION = 3;
export const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
export const FLAG_FIN = 0x01;
const RST_CANCEL = 5;
const MAX_FRAME = 1 << 24;
/** what one DATA frame carries at most (spdystream reads any size; this keeps frames moderate) */
const DATA_CHUNK = 32 * 1024;

/** A zlib context kept across header blocks, flushed per block (the SPDY way). */
export class HeaderZlib {
  readonly #z: zlib.Inflate | zlib.Deflate;
  #out: Buffer[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(kind: 'inflate' | 'deflate') {
    this.#z = kind === 'inflate' ? zlib.createInflate({ dictionary: SPDY3_DICTIONARY }) : zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
    this.#z.on('data', (d: Buffer) => this.#out.push(d));
    this.#z.on('error', () => undefined); // reported through run()'s flush, which then never calls back: see run
  }

  /** Blocks in order; each resolves with its own output. */
  run(block: Buffer): Promise<Buffer> {
    const next = this.#queue.then(() => new Promise<Buffer>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.#z.once('error', onError);
      this.#z.write(block);
      this.#z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.#z.off('error', onError);
        const out = Buffer.concat(this.#out);
        this.#out = [];
        resolve(out);
      });
    }));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.#z.close();
  }
}

export function decodeHeaders(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > b.length) throw new Error('header block truncated');
    const v = b.readUInt32BE(off);
    off += 4;
    return v;
  };
  const str = (): string => {
    const n = u32();
    if (off + n > b.length) throw new Error('header block truncated');
    const s = b.subarray(off, off + n).toString('latin1');
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = str().toLowerCase();
    out[name] = str().split('\0').join(',');
  }
  return out;
}

export function encodeHeaders(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };
  const entries = Object.entries(h);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) {
    const kb = Buffer.from(k.toLowerCase(), 'latin1');
    const vb = Buffer.from(v, 'latin1');
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

export function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4);
  return Buffer.concat([h, body]);
}

export function dataFrame(id: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([h, data]);
}

/** One stream a client opened: its headers, what it sends (ends at its FIN), and our side. */
export class SpdyStream {
  /** the client's data; ends when the client half-closes (or resets) the stream */
  readonly incoming = new PassThrough();
  #finSent = false;

  constructor(private readonly conn: SpdyServerConnection, readonly id: number, readonly headers: Record<string, string>) {}

  write(data: Buffer | string): void {
    if (this.#finSent) return;
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < b.length; off += DATA_CHUNK) this.conn.send(dataFrame(this.id, 0, b.subarray(off, off + DATA_CHUNK)));
  }

  /** our half-close (FIN) */
  end(): void {
    if (this.#finSent) return;
    this.#finSent = true;
    this.conn.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
  }

  reset(): void {
    this.#finSent = true;
    const b = Buffer.alloc(8);
    b.writeUInt32BE(this.id & 0x7fffffff, 0);
    b.writeUInt32BE(RST_CANCEL, 4);
    this.conn.send(controlFrame(TYPE.RST_STREAM, 0, b));
    this.incoming.end();
  }
}

/** Emits 'stream' (SpdyStream, already answered) and 'close'. */
export class SpdyServerConnection extends EventEmitter {
  readonly #streams = new Map<number, SpdyStream>();
  readonly #inflate = new HeaderZlib('inflate');
  readonly #deflate = new HeaderZlib('deflate');
  #buf: Buffer = Buffer.alloc(0);
  /** frames are handled in order, header blocks asynchronously (zlib) */
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lastStream = 0;

  constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('close', () => this.#shut());
    // the client's end of the connection is its end (http sockets are half-open: 'close' would not come)
    socket.on('end', () => {
      socket.destroy();
      this.#shut();
    });
    socket.on('error', () => this.#shut());
  }

  send(frame: Buffer): void {
    if (!this.#closed) this.socket.write(frame);
  }

  /** GOAWAY, then the socket ends once what is queued is written. */
  close(): void {
    if (this.#closed) return;
    const b = Buffer.alloc(8);
    b.writeUInt32BE(this.#lastStream, 0);
    this.send(controlFrame(TYPE.GOAWAY, 0, b));
    this.#closed = true;
    this.socket.end();
  }

  #shut(): void {
    if (this.#closed && this.#streams.size === 0) return;
    this.#closed = true;
    for (const s of this.#streams.values()) s.incoming.end();
    this.#streams.clear();
    this.#inflate.close();
    this.#deflate.close();
    this.emit('close');
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUInt32BE(4) & 0xffffff;
      if (len >= MAX_FRAME) return this.#protocolError();
      if (this.#buf.length < 8 + len) break;
      const frame = this.#buf.subarray(0, 8 + len);
      this.#buf = this.#buf.subarray(8 + len);
      this.#chain = this.#chain.then(() => this.#handle(frame)).catch(() => this.#protocolError());
    }
  }

  #protocolError(): void {
    this.socket.destroy();
    this.#shut();
  }

  async #handle(f: Buffer): Promise<void> {
    const flags = f[4];
    const body = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const s = this.#streams.get(f.readUInt32BE(0) & 0x7fffffff);
      if (!s) return; // a stream we reset or that ended: its data goes nowhere
      if (body.length) s.incoming.write(Buffer.from(body));
      if (flags & FLAG_FIN) s.incoming.end();
      return;
    }
    switch (f.readUInt16BE(2)) {
      case TYPE.SYN_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaders(await this.#inflate.run(body.subarray(10)));
        this.#lastStream = Math.max(this.#lastStream, id);
        const s = new SpdyStream(this, id, headers);
        this.#streams.set(id, s);
        s.incoming.on('end', () => this.#streams.delete(id));
        const reply = Buffer.alloc(4);
        reply.writeUInt32BE(id, 0);
        this.send(controlFrame(TYPE.SYN_REPLY, 0, Buffer.concat([reply, await this.#deflate.run(encodeHeaders({}))])));
        if (flags & FLAG_FIN) s.incoming.end();
        this.emit('stream', s);
        return;
      }
      case TYPE.HEADERS:
        await this.#inflate.run(body.subarray(4)); // keeps the shared context in step; nothing podrun reads
        return;
      case TYPE.RST_STREAM: {
        const s = this.#streams.get(body.readUInt32BE(0) & 0x7fffffff);
        s?.incoming.end();
        return;
      }
      case TYPE.PING:
        this.send(f); // answered with the same id
        return;
      case TYPE.GOAWAY:
        this.close();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE: nothing to do (see the top)
    }
  }
}
