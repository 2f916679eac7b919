/** The two ways a streaming client connects, turned into remotecommand
 * Channels: SPDY/3.1 (one stream per channel, named by its `streamtype`
 * header; kubectl, crictl, critest) and WebSocket `v5.channel.k8s.io` /
 * `v4.channel.k8s.io` (one binary message per write, its first byte the
 * channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; v5 adds 255 to
 * close a channel, e.g. the end of stdin). */
import { PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import { PodrunError } from '../../errors';
import { expectedStreams, type Channels, type OutChannel, type StreamOptions } from './remotecommand';
import type { SpdyServerConnection, SpdyStream } from './spdy';

/** kubelet's streamCreationTimeout */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Wait for the client's streams (all that the options call for), as Channels. */
export function spdyChannels(conn: SpdyServerConnection, o: StreamOptions, timeoutMs = STREAM_CREATION_TIMEOUT_MS): Promise<Channels> {
  const want = new Set(expectedStreams(o));
  const got = new Map<string, SpdyStream>();
  const gone = new Promise<void>((resolve) => conn.once('close', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.off('stream', onStream);
      conn.close();
      reject(new PodrunError('EINTERNAL', `timed out waiting for the client's streams (${[...want].filter((w) => !got.has(w)).join(', ')})`));
    }, timeoutMs);
    const onStream = (s: SpdyStream): void => {
      const type = s.headers.streamtype;
      if (!want.has(type) || got.has(type)) return s.reset();
      got.set(type, s);
      if (got.size < want.size) return;
      clearTimeout(timer);
      conn.off('stream', onStream);
      const out = (t: string): OutChannel | undefined => got.get(t);
      resolve({
        stdin: got.get('stdin')?.incoming,
        stdout: out('stdout'),
        stderr: out('stderr'),
        resize: got.get('resize')?.incoming,
        error: got.get('error')!,
        gone,
        close: () => conn.close(),
      });
    };
    conn.on('stream', onStream);
  });
}

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** A connected WebSocket as Channels (v5 when `v5`, else v4: no close messages). */
export function websocketChannels(ws: WebSocket, o: StreamOptions, v5: boolean): Channels {
  const stdin = o.stdin ? new PassThrough() : undefined;
  const resize = o.tty ? new PassThrough() : undefined;
  const gone = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('close', () => {
    stdin?.end();
    resize?.end();
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const msg = isBinary ? data : Buffer.from(data.toString());
    if (!msg.length) return;
    const body = msg.subarray(1);
    switch (msg[0]) {
      case CHANNEL.stdin: stdin?.write(body); break;
      case CHANNEL.resize: resize?.write(`${body.toString()}\n`); break;
      case CHANNEL.close:
        if (body[0] === CHANNEL.stdin) stdin?.end();
        break;
      default: break;
    }
  });
  const channel = (n: number): OutChannel => {
    let ended = false;
    return {
      write: (d) => {
        if (!ended && ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([n]), typeof d === 'string' ? Buffer.from(d) : d]));
      },
      end: () => {
        if (ended) return;
        ended = true;
        if (v5 && ws.readyState === ws.OPEN) ws.send(Buffer.from([CHANNEL.close, n]));
      },
    };
  };
  return {
    stdin, resize, gone,
    stdout: o.stdout ? channel(CHANNEL.stdout) : undefined,
    stderr: o.stderr && !o.tty ? channel(CHANNEL.stderr) : undefined,
    error: channel(CHANNEL.error),
    close: () => ws.close(1000),
  };
}
