/** An httpGet probe or hook with scheme HTTPS, as kubelet makes it: TLS without verifying the certificate (a pod's
 * is rarely one a node could verify), a GET with the probe's headers, 2xx/3xx healthy. Spoken from the prober (or
 * `start`) itself over a connection made in the pod's network namespace; plain HTTP stays with podrun-monitor probe. */
import http from 'node:http';
import tls from 'node:tls';
import type { ProbeOutcome } from './probe-action';
import { probeOverConnection } from './probe-connection';

export function httpsGet(netns: string | undefined, host: string, port: number, path: string, headers: Array<{ name: string; value: string }>, timeoutMs: number): Promise<ProbeOutcome> {
  const url = `https://${host}:${port}${path}`;
  return probeOverConnection({ netns, host, port, timeoutMs }, (raw) => new Promise((resolve) => {
    const socket = tls.connect({ socket: raw, rejectUnauthorized: false, ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }) });
    const req = http.request({
      host, port, path, method: 'GET', createConnection: () => socket,
      headers: { 'User-Agent': 'kube-probe/podrun', Accept: '*/*', ...Object.fromEntries(headers.map((h) => [h.name, h.value])) },
    }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= 200 && code < 400, why: `HTTP/${res.httpVersion} ${code} ${res.statusMessage ?? ''}`.trim() });
    });
    req.on('error', (e) => resolve({ ok: false, why: `Get "${url}": ${e.message}` }));
    req.end();
  }), { timedOut: `Get "${url}": timed out after ${timeoutMs / 1000} s`, unreachable: (e) => `Get "${url}": dial tcp ${host}:${port}: ${e.message}` });
}
