/** Running one probe: exec in the container, or tcpSocket / httpGet from
 * inside the pod's network namespace (podrun-monitor probe), aimed at the
 * pod's IP as kubelet's are (127.0.0.1 for a loopback-only pod). */
import { spawnChild } from '../native/spawn';
import { monitorPath } from '../native';
import { runExecHandler } from './exec-handler';
import type { ProbeAction } from './probe-state';
import { grpcHealthCheck } from './grpc-probe';
import { httpsGet } from './https-probe';

export interface ProbeTarget {
  ociRoot: string;
  ociId: string;
  /** where an exec probe's output goes */
  outFile: string;
  /** the pod's network namespace file; undefined with hostNetwork */
  netns?: string;
  podIP?: string;
}

export interface ProbeOutcome {
  ok: boolean;
  /** why it failed (or what it saw), for status and events */
  why: string;
}

export async function runProbeAction(a: ProbeAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  if (a.type === 'exec') {
    const res = await runExecHandler(target.ociRoot, target.ociId, a.command, target.outFile, timeoutMs);
    const why = res.timedOut ? `timed out after ${timeoutMs / 1000} s` : res.code === null ? res.output : `exit ${res.code}${res.output.trim() ? `: ${res.output.trim().split('\n').pop()}` : ''}`;
    return { ok: res.code === 0, why };
  }
  if (a.type === 'grpc') return grpcHealthCheck(target.netns, target.podIP ?? '127.0.0.1', a.port, a.service, timeoutMs);
  const host = a.host ?? target.podIP ?? '127.0.0.1';
  if (a.type === 'http' && a.https) return httpsGet(target.netns, host, a.port, a.path, a.headers, timeoutMs);
  const args = a.type === 'tcp'
    ? ['probe', target.netns ?? '-', 'tcp', host, String(a.port), String(timeoutMs)]
    : ['probe', target.netns ?? '-', 'http', host, String(a.port), a.path, String(timeoutMs), ...a.headers.map((h) => `${h.name}:${h.value}`)];
  return new Promise<ProbeOutcome>((resolve) => {
    const child = spawnChild(monitorPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 1000); // it keeps its own deadline; this is a backstop
    child.once('error', (e) => {
      clearTimeout(guard);
      resolve({ ok: false, why: e.message });
    });
    child.once('close', (code) => {
      clearTimeout(guard);
      const line = out.trim().split('\n').pop() ?? '';
      resolve({ ok: code === 0, why: line || `exit ${code}` });
    });
  });
}
