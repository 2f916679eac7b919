/** A SPDY/3.1 client as kubectl's (spdystream) behaves, for the streaming
 * tests: the HTTP upgrade with X-Stream-Protocol-Version, then streams the
 * client opens (SYN_STREAM with `streamtype` headers, answered by
 * SYN_REPLY), DATA both ways, FIN to half-close. Framing from podrun's own
 * spdy.ts; what is tested is the server's side. */
import http from 'node:http';
import type { Socket } from 'node:net';
import { controlFrame, dataFrame, decodeHeaders, encodeHeaders, FLAG_FIN, HeaderZlib, TYPE } from '../../src/cri/streaming/spdy';

export class ClientStream {
  readonly chunks: Buffer[] = [];
  /** resolves when the server half-closed (FIN) or reset it */
  readonly ended: Promise<void>;
  #end!: () => void;
  replied!: Promise<void>;
  #reply!: () => void;
  constructor(private readonly c: SpdyClient, readonly id: number) {
    this.ended = new Promise((r) => (this.#end = r));
    this.replied = new Promise((r) => (this.#reply = r));
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  write(d: string | Buffer): void {
    this.c.socket.write(dataFrame(this.id, 0, typeof d === 'string' ? Buffer.from(d) : d));
  }
  end(): void {
    this.c.socket.write(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
  }
  /** @internal */ onData(d: Buffer, fin: boolean): void {
    if (d.length) this.chunks.push(d);
    if (fin) this.#end();
  }
  /** @internal */ onReply(): void {
    this.#reply();
  }
  /** @internal */ onReset(): void {
    this.#end();
  }
}

export class SpdyClient {
  readonly #deflate = new HeaderZlib('deflate');
  readonly #inflate = new HeaderZlib('inflate');
  readonly #streams = new Map<number, ClientStream>();
  #next = 1;
  #buf = Buffer.alloc(0);
  #chain: Promise<unknown> = Promise.resolve();
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket, head: Buffer, readonly protocol: string) {
    this.closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('data', (d: Buffer) => this.#onData(d));
    if (head.length) this.#onData(head);
  }

  /** POST url with Upgrade: SPDY/3.1; resolves with the client, or rejects with the HTTP status and body */
  static connect(url: string, protocols: string[]): Promise<SpdyClient> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols } });
      req.on('upgrade', (res, socket, head) => resolve(new SpdyClient(socket, head, String(res.headers['x-stream-protocol-version'] ?? ''))));
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode })));
      });
      req.on('error', reject);
      req.end();
    });
  }

  async open(headers: Record<string, string>): Promise<ClientStream> {
    const id = this.#next;
    this.#next += 2;
    const s = new ClientStream(this, id);
    this.#streams.set(id, s);
    const head = Buffer.alloc(10);
    head.writeUInt32BE(id, 0);
    this.socket.write(controlFrame(TYPE.SYN_STREAM, 0, Buffer.concat([head, await this.#deflate.run(encodeHeaders(headers))])));
    await s.replied;
    return s;
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUInt32BE(4) & 0xffffff;
      if (this.#buf.length < 8 + len) break;
      const f = this.#buf.subarray(0, 8 + len);
      this.#buf = this.#buf.subarray(8 + len);
      this.#chain = this.#chain.then(() => this.#handle(f));
    }
  }

  async #handle(f: Buffer): Promise<void> {
    const body = f.subarray(8);
    if (!(f[0] & 0x80)) return this.#streams.get(f.readUInt32BE(0) & 0x7fffffff)?.onData(Buffer.from(body), (f[4] & FLAG_FIN) !== 0);
    const type = f.readUInt16BE(2);
    if (type === TYPE.SYN_REPLY) {
      decodeHeaders(await this.#inflate.run(body.subarray(4)));
      this.#streams.get(body.readUInt32BE(0) & 0x7fffffff)?.onReply();
    } else if (type === TYPE.RST_STREAM) this.#streams.get(body.readUInt32BE(0) & 0x7fffffff)?.onReset();
  }
}
