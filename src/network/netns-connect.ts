/** TCP connections into a pod's network namespace, made by this process: a native thread enters the namespace,
 * creates and connects the socket, and ends (native/addon/netns_connect.cc); the connected fd becomes a
 * net.Socket. No helper process per connection: the library's pod.port() forwards and CRI PortForward use it. */
import net from 'node:net';
import { nativeApi } from '../native';

/** A connection to address:port inside the network namespace at netnsPath (`null`: ours). */
export async function connectIn(netnsPath: string | null, port: number, address = '127.0.0.1'): Promise<net.Socket> {
  if (netnsPath === null) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: address }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }
  const fd = await nativeApi().connectInNetns(netnsPath, address, port);
  return new net.Socket({ fd, readable: true, writable: true });
}

/** localhost:port as kubelet's port-forward dials it: 127.0.0.1, else ::1. */
export async function dialLocalhost(netnsPath: string | null, port: number): Promise<net.Socket> {
  try {
    return await connectIn(netnsPath, port, '127.0.0.1');
  } catch (e) {
    try {
      return await connectIn(netnsPath, port, '::1');
    } catch {
      throw e;
    }
  }
}
