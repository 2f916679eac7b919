/**
 * The socket kubelet and crictl connect to, in front of the gRPC server. gRPC clients of the Kubernetes 1.20–1.25
 * era (grpc-go ≤ 1.4x as kubelet vendored it, crictl, CSI tools) send a unix socket's path as the HTTP/2
 * `:authority` ("/run/podrun/cri.sock"); Node's HTTP/2 (nghttp2) checks it as RFC 3986 demands and resets every
 * such stream (PROTOCOL_ERROR), so kubelet 1.20 cannot even ask the Version. Kubernetes itself moved to
 * "localhost" for unix sockets later; this front makes the old clients say that too: it relays each connection to
 * the gRPC server's own socket, decoding the client's request header blocks (HPACK, hpack.js) and re-encoding them
 * with an authority the server takes. Frames other than HEADERS/CONTINUATION, and everything the server sends, pass
 * through untouched.
 */
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const FRAME_HEADERS = 0x1;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** HTTP/2's default SETTINGS_MAX_FRAME_SIZE, which Node's server keeps */
const MAX_FRAME = 16_384;
/** HTTP/2's default SETTINGS_HEADER_TABLE_SIZE, both ways */
const TABLE_SIZE = 4096;
/** what RFC 3986 allows in an authority (nghttp2's check) */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%[\]]+$/;

interface HpackHeader {
  name: string;
  value: string;
  neverIndex?: boolean;
}
interface Hpack {
  compressor: { create(o: { table: { size: number } }): { write(h: HpackHeader[]): void; read(): Buffer | null } };
  decompressor: { create(o: { table: { size: number } }): { write(b: Buffer): void; execute(): void; read(): HpackHeader | null } };
}

/** A request's header block as it arrives: a HEADERS frame and its CONTINUATIONs */
interface PendingBlock {
  stream: number;
  endStream: boolean;
  priority?: Buffer;
  fragments: Buffer[];
}

/** One client connection's request header blocks, rewritten where their authority is not one. */
export class AuthorityRewriter {
  #hpack = require('hpack.js') as Hpack;
  #decoder = this.#hpack.decompressor.create({ table: { size: TABLE_SIZE } });
  #encoder = this.#hpack.compressor.create({ table: { size: TABLE_SIZE } });
  #input: Buffer = Buffer.alloc(0);
  #prefaceSeen = false;
  #pending: PendingBlock | undefined;

  /** Bytes from the client → the bytes to send the server (throws on a malformed stream). */
  push(chunk: Buffer): Buffer[] {
    this.#input = this.#input.length ? Buffer.concat([this.#input, chunk]) : chunk;
    const out: Buffer[] = [];
    if (!this.#prefaceSeen) {
      if (this.#input.length < PREFACE.length) return out;
      out.push(this.#input.subarray(0, PREFACE.length));
      this.#input = this.#input.subarray(PREFACE.length);
      this.#prefaceSeen = true;
    }
    while (this.#input.length >= 9) {
      const length = this.#input.readUIntBE(0, 3);
      if (this.#input.length < 9 + length) break;
      const frame = this.#input.subarray(0, 9 + length);
      this.#input = this.#input.subarray(9 + length);
      const type = frame[3];
      const flags = frame[4];
      const stream = frame.readUInt32BE(5) & 0x7fffffff;
      const payload = frame.subarray(9);
      if (type === FRAME_HEADERS) {
        let at = 0;
        let pad = 0;
        if (flags & FLAG_PADDED) pad = payload[at++];
        const priority = flags & FLAG_PRIORITY ? payload.subarray(at, at + 5) : undefined;
        if (priority) at += 5;
        if (at + pad > payload.length) throw new Error('HEADERS frame shorter than its padding');
        this.#pending = { stream, endStream: !!(flags & FLAG_END_STREAM), priority, fragments: [payload.subarray(at, payload.length - pad)] };
      } else if (type === FRAME_CONTINUATION && this.#pending?.stream === stream) {
        this.#pending.fragments.push(payload);
      } else {
        if (this.#pending) throw new Error('a frame between HEADERS and its CONTINUATION');
        out.push(frame);
        continue;
      }
      if (flags & FLAG_END_HEADERS) {
        out.push(...this.#reencode(this.#pending!));
        this.#pending = undefined;
      }
    }
    return out;
  }

  #reencode(block: PendingBlock): Buffer[] {
    this.#decoder.write(Buffer.concat(block.fragments));
    this.#decoder.execute();
    const headers: HpackHeader[] = [];
    for (let h = this.#decoder.read(); h !== null; h = this.#decoder.read()) headers.push(h);
    // a request's headers (trailers have no pseudo-headers): an authority the server takes
    if (headers.some((h) => h.name === ':method')) {
      const authority = headers.find((h) => h.name === ':authority');
      if (!authority) headers.splice(headers.findIndex((h) => h.name.startsWith(':')) + 1, 0, { name: ':authority', value: 'localhost' });
      else if (!VALID_AUTHORITY.test(authority.value)) authority.value = 'localhost';
    }
    this.#encoder.write(headers.map((h) => ({ name: h.name, value: h.value, neverIndex: !!h.neverIndex })));
    const encoded: Buffer[] = [];
    for (let b = this.#encoder.read(); b !== null; b = this.#encoder.read()) encoded.push(b);
    let rest = Buffer.concat([block.priority ?? Buffer.alloc(0), ...encoded]);
    const frames: Buffer[] = [];
    let first = true;
    do {
      const part = rest.subarray(0, MAX_FRAME);
      rest = rest.subarray(part.length);
      const flags = (rest.length ? 0 : FLAG_END_HEADERS) | (first ? (block.endStream ? FLAG_END_STREAM : 0) | (block.priority ? FLAG_PRIORITY : 0) : 0);
      const head = Buffer.alloc(9);
      head.writeUIntBE(part.length, 0, 3);
      head[3] = first ? FRAME_HEADERS : FRAME_CONTINUATION;
      head[4] = flags;
      head.writeUInt32BE(block.stream, 5);
      frames.push(head, part);
      first = false;
    } while (rest.length);
    return frames;
  }
}

/** Listen on `socket`, relaying each connection to `backend` through an AuthorityRewriter. */
export function startAuthorityFront(socket: string, backend: string): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(backend);
    const rewriter = new AuthorityRewriter();
    client.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = rewriter.push(chunk);
      } catch {
        client.destroy(); // a stream we cannot follow: the client sees its connection close
        upstream.destroy();
        return;
      }
      for (const f of frames) if (!upstream.write(f)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    client.on('end', () => upstream.end());
    const done = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
