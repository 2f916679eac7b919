/** The connection a network probe made by podrun itself (gRPC, HTTPS) talks over: made in the pod's network
 * namespace (src/network/netns-connect.ts), used, and closed however it ends — also when the probe's time runs out
 * before or after it connected. */
import type net from 'node:net';
import { connectIn } from '../network/netns-connect';
import type { ProbeOutcome } from './probe-action';

export async function probeOverConnection(
  to: { netns?: string; host: string; port: number; timeoutMs: number },
  use: (socket: net.Socket) => Promise<ProbeOutcome>,
  why: { timedOut: string; unreachable: (e: Error) => string },
): Promise<ProbeOutcome> {
  let socket: net.Socket | undefined;
  let over = false;
  const deadline = new Promise<ProbeOutcome>((resolve) => setTimeout(() => resolve({ ok: false, why: why.timedOut }), to.timeoutMs).unref());
  const run = (async (): Promise<ProbeOutcome> => {
    let s: net.Socket;
    try {
      s = await connectIn(to.netns ?? null, to.port, to.host);
    } catch (e) {
      return { ok: false, why: why.unreachable(e as Error) };
    }
    if (over) {
      s.destroy(); // connected after the deadline: nobody waits for it
      return { ok: false, why: why.timedOut };
    }
    socket = s;
    return use(s);
  })();
  try {
    return await Promise.race([run, deadline]);
  } finally {
    over = true;
    socket?.destroy();
  }
}
