/** The front's HTTP/2 rewriting, on frames built here: request header blocks get an authority nghttp2 takes; the
 * rest passes byte for byte. */
import t from 'tap';
import { AuthorityRewriter } from '../../src/cri/authority-front';

/* eslint-disable @typescript-eslint/no-require-imports */
const hpack = require('hpack.js') as {
  compressor: { create(o: object): { write(h: object[]): void; read(): Buffer | null } };
  decompressor: { create(o: object): { write(b: Buffer): void; execute(): void; read(): { name: string; value: string } | null } };
};

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
function readFrames(b: Buffer): Array<{ type: number; flags: number; stream: number; payload: Buffer }> {
  const out = [];
  for (let at = 0; at < b.length;) {
    const len = b.readUIntBE(at, 3);
    out.push({ type: b[at + 3], flags: b[at + 4], stream: b.readUInt32BE(at + 5), payload: b.subarray(at + 9, at + 9 + len) });
    at += 9 + len;
  }
  return out;
}

t.test('a path as :authority becomes localhost; padding, priority and CONTINUATION handled; other frames untouched', async (t) => {
  const enc = hpack.compressor.create({ table: { size: 4096 } });
  const block = (headers: object[]): Buffer => {
    enc.write(headers);
    const parts: Buffer[] = [];
    for (let p = enc.read(); p; p = enc.read()) parts.push(p);
    return Buffer.concat(parts);
  };
  const request = [{ name: ':method', value: 'POST' }, { name: ':scheme', value: 'http' }, { name: ':path', value: '/runtime.v1alpha2.RuntimeService/Version' },
    { name: ':authority', value: '/run/podrun/cri.sock' }, { name: 'content-type', value: 'application/grpc' }, { name: 'x-long', value: 'v'.repeat(100) }];
  const b1 = block(request);
  const settings = frame(0x4, 0, 0, Buffer.alloc(6));
  // HEADERS padded, with priority, its block split over a CONTINUATION
  const head = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), b1.subarray(0, 20), Buffer.alloc(3)]);
  const input = Buffer.concat([PREFACE, settings, frame(0x1, 0x8 | 0x20, 1, head), frame(0x9, 0x4, 1, b1.subarray(20)),
    frame(0x0, 0x1, 1, Buffer.from('data')),
    // the second request reuses the dynamic table: its authority is an index into it
    frame(0x1, 0x4 | 0x1, 3, block(request))]);
  const rw = new AuthorityRewriter();
  // fed in small pieces, as a socket may deliver them
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += 7) out.push(...rw.push(input.subarray(i, i + 7)));
  const all = Buffer.concat(out);
  t.same(all.subarray(0, PREFACE.length), PREFACE);
  const frames = readFrames(all.subarray(PREFACE.length));
  t.same(frames.map((f) => [f.type, f.flags, f.stream]), [[0x4, 0, 0], [0x1, 0x20 | 0x4, 1], [0x0, 0x1, 1], [0x1, 0x4 | 0x1, 3]], 'one HEADERS each, END_HEADERS, priority and END_STREAM kept, no padding');
  t.same(frames[2].payload.toString(), 'data');
  t.same(frames[1].payload.subarray(0, 5), Buffer.from([0, 0, 0, 0, 16]), 'the priority fields');
  const dec = hpack.decompressor.create({ table: { size: 4096 } });
  const decode = (b: Buffer): Array<[string, string]> => {
    dec.write(b);
    dec.execute();
    const h: Array<[string, string]> = [];
    for (let x = dec.read(); x; x = dec.read()) h.push([x.name, x.value]);
    return h;
  };
  const want = request.map((h) => [h.name, h.name === ':authority' ? 'localhost' : h.value]);
  t.same(decode(frames[1].payload.subarray(5)), want);
  t.same(decode(frames[3].payload), want, 'the dynamic table kept in step');
});

t.test('a valid authority stays; trailers get none; a missing one is added', async (t) => {
  const enc = hpack.compressor.create({ table: { size: 4096 } });
  const dec = hpack.decompressor.create({ table: { size: 4096 } });
  const rw = new AuthorityRewriter();
  rw.push(PREFACE);
  const roundTrip = (headers: object[]): Array<[string, string]> => {
    enc.write(headers);
    const parts: Buffer[] = [];
    for (let p = enc.read(); p; p = enc.read()) parts.push(p);
    const [f] = readFrames(Buffer.concat(rw.push(frame(0x1, 0x4, 1, Buffer.concat(parts)))));
    dec.write(f.payload);
    dec.execute();
    const h: Array<[string, string]> = [];
    for (let x = dec.read(); x; x = dec.read()) h.push([x.name, x.value]);
    return h;
  };
  t.same(roundTrip([{ name: ':method', value: 'POST' }, { name: ':authority', value: 'localhost:1234' }]), [[':method', 'POST'], [':authority', 'localhost:1234']]);
  t.same(roundTrip([{ name: 'grpc-status', value: '0' }]), [['grpc-status', '0']]);
  t.same(roundTrip([{ name: ':method', value: 'POST' }, { name: ':path', value: '/x' }]), [[':method', 'POST'], [':authority', 'localhost'], [':path', '/x']]);
  t.throws(() => rw.push(Buffer.concat([frame(0x1, 0, 5, Buffer.alloc(0)), frame(0x0, 0, 5, Buffer.alloc(1))])), /between HEADERS and its CONTINUATION/);
});
