/** A gRPC probe as kubelet makes it: grpc.health.v1.Health/Check of `service` at the pod's IP and `port`, healthy
 * only when the answer is SERVING. Spoken from the prober itself over HTTP/2 (node:http2) on a connection made in
 * the pod's network namespace (src/network/netns-connect.ts): the request and answer are one small protobuf
 * message each (a string field 1; an enum field 1), written and read here rather than with a gRPC stack. */
import http2 from 'node:http2';
import type { ProbeOutcome } from './probe-action';
import { probeOverConnection } from './probe-connection';

const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/** HealthCheckRequest{service} in gRPC's length-prefixed framing (pure). */
export function healthCheckRequest(service: string): Buffer {
  const s = Buffer.from(service, 'utf8');
  const msg = s.length ? Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** HealthCheckResponse's status name from a framed answer (pure): field 1, a varint; absent is UNKNOWN (0). */
export function healthCheckStatus(framed: Buffer): string {
  if (framed.length < 5) return 'UNKNOWN';
  const msg = framed.subarray(5, 5 + framed.readUInt32BE(1));
  for (let i = 0; i < msg.length; ) {
    const key = msg[i++];
    let v = 0;
    for (let shift = 0; i < msg.length; shift += 7) {
      const b = msg[i++];
      v |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (key === 0x08) return STATUS[v] ?? String(v);
    if ((key & 7) === 2) i += v; // a length-delimited field podrun does not know: skipped
  }
  return 'UNKNOWN';
}

export function grpcHealthCheck(netns: string | undefined, host: string, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  return probeOverConnection({ netns, host, port, timeoutMs }, (socket) => new Promise((resolve) => {
    const session = http2.connect(`http://${host}:${port}`, { createConnection: () => socket });
    session.on('error', () => undefined); // its end is the request's
    const req = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let message = '';
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); // a trailers-only answer
      message = String(h['grpc-message'] ?? '');
    });
    req.on('trailers', (h) => {
      grpcStatus = String(h['grpc-status'] ?? '');
      message = String(h['grpc-message'] ?? '');
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', (e) => resolve({ ok: false, why: `error: ${e.message}` }));
    req.on('end', () => {
      session.destroy();
      if (grpcStatus !== '0') return resolve({ ok: false, why: `rpc error: code = ${grpcStatus ?? 'none'} desc = ${decodeURIComponent(message)}` });
      const status = healthCheckStatus(Buffer.concat(chunks));
      resolve(status === 'SERVING' ? { ok: true, why: 'SERVING' } : { ok: false, why: `service unhealthy (responded with "${status}")` });
    });
    req.end(healthCheckRequest(service));
  }), { timedOut: `timeout: failed to connect service "${host}:${port}" within ${timeoutMs / 1000}s`, unreachable: (e) => `failed to connect service "${host}:${port}": ${e.message}` });
}
