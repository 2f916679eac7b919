/** An httpGet probe or hook with scheme HTTPS, as kubelet makes it: TLS without verifying the certificate (a pod's
 * is rarely one a node could verify), a GET with the probe's headers, 2xx/3xx healthy. Spoken from the prober (or
 * `start`) itself over a connection made in the pod's network namespace; plain HTTP stays with podrun-monitor probe. */
import http from 'node:http';
import tls from 'node:tls';
import { connectIn } from '../network/netns-connect';

export async function httpsGet(netns: string | undefined, host: string, port: number, path: string, headers: Array<{ name: string; value: string }>, timeoutMs: number): Promise<{ ok: boolean; why: string }> {
  let socket: tls.TLSSocket | undefined;
  let over = false;
  const deadline = new Promise<{ ok: boolean; why: string }>((resolve) => setTimeout(() => resolve({ ok: false, why: `Get "https://${host}:${port}${path}": timed out after ${timeoutMs / 1000} s` }), timeoutMs).unref());
  const get = (async (): Promise<{ ok: boolean; why: string }> => {
    const raw = await connectIn(netns ?? null, port, host);
    if (over) {
      raw.destroy();
      return { ok: false, why: 'late' };
    }
    socket = tls.connect({ socket: raw, rejectUnauthorized: false, ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }) });
    return new Promise((resolve) => {
      const req = http.request({
        host, port, path, method: 'GET', createConnection: () => socket!,
        headers: { 'User-Agent': 'kube-probe/podrun', Accept: '*/*', ...Object.fromEntries(headers.map((h) => [h.name, h.value])) },
      }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, why: `HTTP/${res.httpVersion} ${code} ${res.statusMessage ?? ''}`.trim() });
      });
      req.on('error', (e) => resolve({ ok: false, why: `Get "https://${host}:${port}${path}": ${e.message}` }));
      req.end();
    });
  })().catch((e: Error) => ({ ok: false, why: `Get "https://${host}:${port}${path}": dial tcp ${host}:${port}: ${e.message}` }));
  try {
    return await Promise.race([get, deadline]);
  } finally {
    over = true;
    socket?.destroy();
  }
}
