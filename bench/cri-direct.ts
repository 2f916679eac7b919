/**
 * The CRI path as kubelet sees it: one long-lived gRPC connection, RunPodSandbox + CreateContainer + StartContainer
 * of a busybox `sleep 3600` timed in-process (no crictl process per call, which costs 40–70 ms here by itself),
 * 1 warm-up + N runs, each pod stopped and removed untimed; prints per-step medians and the total's.
 *   node dist/bench/cri-direct.js SOCKET [N=15] [TAG]
 * Run by bench/cri.sh against podrun cri and Debian's containerd in the same run (the kit's config: cgroup_parent
 * anchor-lat, the busybox look-alike pulled beforehand).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadCriProto } from '../src/cri/server';

type Call = (req: object) => Promise<Record<string, unknown>>;

function client(socket: string): { call: (method: string) => Call; close: () => void } {
  const pkg = loadCriProto() as unknown as { runtime: { v1: Record<string, grpc.ServiceClientConstructor> } };
  const runtime = new pkg.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
  const methods = runtime as unknown as Record<string, (req: object, cb: (e: grpc.ServiceError | null, r: Record<string, unknown>) => void) => void>;
  return {
    call: (method) => (req) => new Promise((resolve, reject) => methods[method].call(runtime, req, (e, r) => (e ? reject(new Error(`${method}: ${e.details}`)) : resolve(r)))),
    close: () => runtime.close(),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const between = (a: bigint, b: bigint): number => Number(b - a) / 1e6;

async function main(): Promise<void> {
  const [socket, n = '15', tag = 'direct'] = process.argv.slice(2);
  const runs = Number(n);
  const { call, close } = client(socket);
  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-cri-direct-'));
  const rows: number[][] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const uid = `${tag}-${process.pid}-${i}`;
      const sandboxConfig = { metadata: { name: uid, namespace: 'lat', uid, attempt: 0 }, log_directory: path.join(logs, String(i)), linux: { cgroup_parent: 'anchor-lat' } };
      const t0 = process.hrtime.bigint();
      const { pod_sandbox_id: pod } = await call('RunPodSandbox')({ config: sandboxConfig });
      const t1 = process.hrtime.bigint();
      const { container_id: ctr } = await call('CreateContainer')({
        pod_sandbox_id: pod, sandbox_config: sandboxConfig,
        config: { metadata: { name: 'bb' }, image: { image: 'registry.k8s.io/e2e-test-images/busybox:1.29-2' }, command: ['sleep', '3600'], log_path: 'bb.log', linux: {} },
      });
      const t2 = process.hrtime.bigint();
      await call('StartContainer')({ container_id: ctr });
      const t3 = process.hrtime.bigint();
      const row = [between(t0, t1), between(t1, t2), between(t2, t3), between(t0, t3)];
      if (i > 0) rows.push(row);
      await call('StopPodSandbox')({ pod_sandbox_id: pod });
      await call('RemovePodSandbox')({ pod_sandbox_id: pod });
    }
  } finally {
    close();
    fs.rmSync(logs, { recursive: true, force: true });
  }
  const col = (k: number): number => median(rows.map((r) => r[k]));
  console.log(`median runp ${col(0).toFixed(0)} create ${col(1).toFixed(0)} start ${col(2).toFixed(0)} total ${col(3).toFixed(0)} (min ${Math.min(...rows.map((r) => r[3])).toFixed(0)} max ${Math.max(...rows.map((r) => r[3])).toFixed(0)}, n=${rows.length})`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
