/** The streaming server behind CRI Exec, Attach and PortForward, as kubelet's
 * (k8s.io/kubelet/pkg/cri/streaming): each RPC caches its request under a
 * one-time token and answers a URL on this server; the client upgrades that
 * URL (SPDY/3.1, or WebSocket for exec/attach) and the session runs. Unknown
 * or expired tokens get 404; a request without an upgrade 400. Tokens live a
 * minute, as kubelet's. */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { PodrunError } from '../../errors';
import { feed, onResize, pump, statusJson, type Channels } from './remotecommand';
import { SpdyServerConnection, type SpdyStream } from './spdy';
import { spdyChannels, websocketChannels } from './transports';

export const TOKEN_TTL_MS = 60_000;

export interface ExecRequest { container_id: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
export interface AttachRequest { container_id: string; stdin: boolean; tty: boolean; stdout: boolean; stderr: boolean }
export interface PortForwardRequest { pod_sandbox_id: string; port: number[] }

/** a running exec or attach: its stdio and its end */
export interface CommandSession {
  stdin?: Writable;
  stdout: Readable;
  stderr?: Readable;
  resize?: (rows: number, cols: number) => void;
  kill(): void;
  /** the exit code (attach: 0 when the container's output ended) */
  result: Promise<{ exitCode: number }>;
}

/** one forwarded connection into the pod */
export interface ForwardSession {
  stdin: Writable;
  stdout: Readable;
  /** why it could not connect, if it could not */
  result: Promise<string | undefined>;
  kill(): void;
}

/** what the sessions run on: podrun's containers and pods */
export interface StreamingBackend {
  exec(r: ExecRequest): CommandSession;
  attach(r: AttachRequest): CommandSession;
  forward(podSandboxId: string, port: number): ForwardSession;
}

type Pending =
  | { kind: 'exec'; req: ExecRequest; expires: number }
  | { kind: 'attach'; req: AttachRequest; expires: number }
  | { kind: 'portforward'; req: PortForwardRequest; expires: number };

const REMOTECOMMAND_SPDY = ['v4.channel.k8s.io'];
const REMOTECOMMAND_WS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const PORTFORWARD_SPDY = ['portforward.k8s.io'];

/** The first protocol of ours the client offers (X-Stream-Protocol-Version, possibly repeated or comma-joined). */
export function negotiate(offered: string | string[] | undefined, ours: readonly string[]): string | undefined {
  const list = (Array.isArray(offered) ? offered : [offered ?? '']).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return list.find((p) => ours.includes(p));
}

export class StreamingServer {
  readonly #pending = new Map<string, Pending>();
  readonly #server = http.createServer((req, res) => this.#plain(req, res));
  readonly #sockets = new Set<Socket>();
  #ws?: WebSocketServer;
  #base = '';

  constructor(private readonly backend: StreamingBackend, private readonly address = '127.0.0.1:0') {
    this.#server.on('upgrade', (req, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<void> {
    const i = this.address.lastIndexOf(':');
    const host = this.address.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(this.address.slice(i + 1));
    if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new PodrunError('EINVALID_CONFIG', `streaming.address: ${this.address} is not host:port`, { field: 'streaming.address' });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (e) => reject(new PodrunError('EHOST', `streaming server on ${this.address}: ${e.message}`)));
      this.#server.listen(port, host, resolve);
    });
    const a = this.#server.address() as AddressInfo;
    this.#base = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  get url(): string {
    return this.#base;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#ws?.close();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** a one-time URL for a request, valid TOKEN_TTL_MS */
  #url(kind: Pending['kind'], p: Omit<Pending, 'kind' | 'expires'>): string {
    const now = Date.now();
    for (const [t, e] of this.#pending) if (e.expires < now) this.#pending.delete(t);
    const token = randomBytes(12).toString('base64url');
    this.#pending.set(token, { kind, ...(p as { req: never }), expires: now + TOKEN_TTL_MS });
    return `${this.#base}/${kind}/${token}`;
  }

  execUrl(req: ExecRequest): string {
    return this.#url('exec', { req });
  }

  attachUrl(req: AttachRequest): string {
    return this.#url('attach', { req });
  }

  portForwardUrl(req: PortForwardRequest): string {
    return this.#url('portforward', { req });
  }

  /** the request a URL path holds, used up; undefined when unknown or expired */
  #take(url: string | undefined): Pending | undefined {
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)(\?.*)?$/.exec(url ?? '');
    if (!m) return undefined;
    const p = this.#pending.get(m[2]);
    if (!p || p.kind !== m[1]) return undefined;
    this.#pending.delete(m[2]);
    return p.expires >= Date.now() ? p : undefined;
  }

  #plain(req: http.IncomingMessage, res: http.ServerResponse): void {
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)/.exec(req.url ?? '');
    const known = m && this.#pending.get(m[2])?.kind === m[1];
    res.writeHead(known ? 400 : 404, { 'content-type': 'text/plain' });
    res.end(known ? 'Upgrade request required\n' : 'not found\n');
  }

  #upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const refuse = (code: number, text: string): void => {
      socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    const pending = this.#take(req.url);
    if (!pending) return refuse(404, 'not found\n');
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'spdy/3.1') {
      const protocol = negotiate(req.headers['x-stream-protocol-version'], pending.kind === 'portforward' ? PORTFORWARD_SPDY : REMOTECOMMAND_SPDY);
      if (!protocol) return refuse(403, `no supported stream protocol among ${JSON.stringify(req.headers['x-stream-protocol-version'] ?? '')}\n`);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
      if (head.length) socket.unshift(head);
      const conn = new SpdyServerConnection(socket);
      if (pending.kind === 'portforward') return this.#portForward(conn, pending.req);
      void spdyChannels(conn, pending.req).then((ch) => this.#command(pending, ch), () => undefined);
      return;
    }
    if (upgrade === 'websocket' && pending.kind !== 'portforward') {
      this.#ws ??= new (require('ws') as typeof import('ws')).WebSocketServer({ noServer: true, handleProtocols: (offered) => REMOTECOMMAND_WS.find((p) => offered.has(p)) ?? false });
      this.#ws.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        if (!REMOTECOMMAND_WS.includes(ws.protocol)) return ws.close(1002, 'no supported protocol');
        this.#command(pending, websocketChannels(ws, pending.req, ws.protocol === 'v5.channel.k8s.io'));
      });
      return;
    }
    refuse(400, `unsupported upgrade ${JSON.stringify(req.headers.upgrade ?? '')}\n`);
  }

  /** an exec or attach over connected channels, to its end (the status on the error channel) */
  async #command(p: Extract<Pending, { kind: 'exec' | 'attach' }>, ch: Channels): Promise<void> {
    const command = p.kind === 'exec' ? p.req.cmd : ['attach'];
    let session: CommandSession;
    try {
      session = p.kind === 'exec' ? this.backend.exec(p.req) : this.backend.attach(p.req);
    } catch (e) {
      ch.error.write(statusJson({ error: (e as Error).message }, command));
      ch.error.end();
      return ch.close();
    }
    // the client went away before the end: nothing should keep running for nobody
    let finished = false;
    void ch.gone.then(() => {
      if (!finished) session.kill();
    });
    feed(ch.stdin, session.stdin);
    if (ch.resize && session.resize) onResize(ch.resize, session.resize);
    const copies = [pump(session.stdout, ch.stdout), ...(session.stderr ? [pump(session.stderr, ch.stderr)] : [])];
    let status;
    try {
      status = await session.result;
    } catch (e) {
      status = { error: (e as Error).message };
    }
    await Promise.all(copies);
    finished = true;
    ch.stdout?.end();
    ch.stderr?.end();
    ch.error.write(statusJson(status, command));
    ch.error.end();
    ch.close();
  }

  /** portforward.k8s.io over SPDY: a data and an error stream per connection (by requestid), each a connection into the pod */
  #portForward(conn: SpdyServerConnection, req: PortForwardRequest): void {
    const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
    const sessions = new Set<ForwardSession>();
    conn.on('close', () => {
      for (const s of sessions) s.kill();
    });
    conn.on('stream', (s: SpdyStream) => {
      const type = s.headers.streamtype;
      const port = Number(s.headers.port);
      if ((type !== 'data' && type !== 'error') || !Number.isInteger(port)) return s.reset();
      const id = s.headers.requestid ?? `${port}`;
      const pair = pairs.get(id) ?? {};
      pair[type] = s;
      pairs.set(id, pair);
      if (!pair.data || !pair.error) return;
      pairs.delete(id);
      const { data, error } = pair;
      if (req.port.length && !req.port.includes(port)) {
        error.write(`port ${port} was not asked for in the PortForward request (${req.port.join(', ')})`);
        error.end();
        data.end();
        return;
      }
      let f: ForwardSession;
      try {
        f = this.backend.forward(req.pod_sandbox_id, port);
      } catch (e) {
        error.write((e as Error).message);
        error.end();
        data.end();
        return;
      }
      sessions.add(f);
      feed(data.incoming, f.stdin);
      f.stdout.on('data', (d: Buffer) => data.write(d));
      void f.result.then((why) => {
        sessions.delete(f);
        if (why) error.write(`error forwarding port ${port} to pod ${req.pod_sandbox_id}: ${why}`);
        error.end();
        data.end();
      });
    });
  }
}
