/** A pod's port on the host's loopback: a TCP listener on 127.0.0.1:<random> whose every connection is joined to
 * a connection made inside the pod's network namespace (to its localhost:port), as `kubectl port-forward` and CRI
 * PortForward do, so loopback-only pods are reachable from a test (src/network/netns-connect.ts). */
import net from 'node:net';
import { connectIn } from '../network/netns-connect';

/** `http://host:port/path` (an IPv6 host in brackets). */
export function httpUrl(host: string, port: number, path = '/'): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
}

export interface ForwardedPort {
  /** where to connect: 127.0.0.1 */
  host: string;
  port: number;
  /** `http://127.0.0.1:<port><path>` */
  url(path?: string): string;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 (port 0: any free one) and forward each connection to port inside the namespace. */
export async function forwardPort(netnsPath: string | null, port: number, o: { localPort?: number; onError?: (e: Error) => void } = {}): Promise<ForwardedPort> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    connectIn(netnsPath, port).then((upstream) => {
      open.add(upstream);
      upstream.once('close', () => open.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    }, (e: Error) => {
      // the pod does not listen there (or is gone): the client sees its connection closed, as with kubectl
      o.onError?.(new Error(`forwarding to port ${port} in the pod: ${e.message}`));
      client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.localPort ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // a forward never keeps the test process alive by itself
  server.unref();
  const local = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port: local,
    url: (path?: string) => httpUrl('127.0.0.1', local, path),
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}
