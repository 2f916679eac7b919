/** A `podrun cri` server for tests, driven by a gRPC client (@grpc/grpc-js
 * with podrun's proto): by default in a network namespace of the test's own
 * with a CNI bridge; its pods are removed at teardown. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type * as grpcTypes from '@grpc/grpc-js';
import { loadCriProto } from '../../src/cri/server';
import { fixtures, pinnedNamespace, podrunBin, runCmd, tempDir, waitFor } from '../helpers';

export const grpc = require('@grpc/grpc-js') as typeof grpcTypes;
export const BUSYBOX = 'localhost/podrun/busybox:latest';

export type Call = (method: string, req: object) => Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** ownNetns (default): the server runs in a network namespace of the test's, with a CNI bridge there; without
 * it the server runs in ours (to reach a registry, or its streaming server, on our 127.0.0.1) and pods get no CNI
 * network (nothing may be attached in the machine's own namespace). */
export async function criEnv(t: Test, o: { ownNetns?: boolean; registries?: string } = {}) {
  const fx = await fixtures();
  const hostNs = o.ownNetns === false ? '/proc/self/ns/net' : await pinnedNamespace(t, 'net', 'ip', 'link', 'set', 'lo', 'up');
  const dataRoot = await tempDir(t, 'podrun-data-');
  const runRoot = await tempDir(t, 'podrun-run-');
  const confDir = await tempDir(t, 'podrun-cni-');
  const logDir = await tempDir(t, 'podrun-logs-');
  const bridge = `crt${Math.random().toString(16).slice(2, 8)}`;
  if (o.ownNetns !== false) fs.writeFileSync(path.join(confDir, '10-crit.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'crit',
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.124.0.0/24' }]], dataDir: path.join(dataRoot, 'ipam') } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }));
  const inHost = (cmd: string, args: string[]) => runCmd('nsenter', [`--net=${hostNs}`, cmd, ...args]);
  const podrun = (...args: string[]) => inHost(podrunBin, ['--data-root', dataRoot, '--runroot', runRoot, ...args]);
  const load = await podrun('load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip']);
  if (load.code !== 0) throw new Error(load.stderr);
  const socket = path.join(runRoot, 'cri.sock');
  const config = path.join(confDir, 'cri.yaml');
  fs.writeFileSync(config, `root: ${runRoot}\ndataRoot: ${dataRoot}\ncni: { confDir: ${confDir}, binDirs: [/usr/lib/cni] }\n${o.registries ?? ''}`);
  let server: ChildProcess | undefined;
  let serverLog = '';
  const start = async (): Promise<void> => {
    serverLog = '';
    server = spawn('nsenter', [`--net=${hostNs}`, podrunBin, 'cri', '--listen', `unix://${socket}`, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    await waitFor(async () => serverLog.includes('serving'), `podrun cri to listen (${serverLog})`, 10_000);
  };
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    const s = server;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill(signal);
    await exited;
  };
  await start();
  const pkg = loadCriProto() as unknown as { runtime: { v1: Record<string, grpcTypes.ServiceClientConstructor> } };
  const clients = {
    runtime: new pkg.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure()),
    image: new pkg.runtime.v1.ImageService(`unix://${socket}`, grpc.credentials.createInsecure()),
  };
  const call: Call = (method, req) => new Promise((resolve, reject) => {
    type Method = (r: object, m: grpcTypes.Metadata, o: grpcTypes.CallOptions, cb: (e: grpcTypes.ServiceError | null, v: Record<string, unknown>) => void) => void;
    const c = (['ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'].includes(method) ? clients.image : clients.runtime) as unknown as Record<string, Method>;
    // waitForReady: across a restart of the server the channel reconnects instead of failing the call
    c[method].call(c, req, new grpc.Metadata(), { waitForReady: true, deadline: Date.now() + 60_000 }, (e, v) => (e ? reject(e) : resolve(v)));
  });
  // last in, first out: the server's pods go before the roots and the netns
  t.teardown(async () => {
    clients.runtime.close();
    clients.image.close();
    await kill('SIGTERM');
    const ids = (JSON.parse((await podrun('ps', '-a', '--json')).stdout || '[]') as Array<{ id: string }>).map((p) => p.id);
    if (ids.length) await podrun('rm', '-f', ...ids);
  });
  /** GetContainerEvents: the server's stream of events, each as decoded */
  const events = (): grpcTypes.ClientReadableStream<Record<string, any>> => // eslint-disable-line @typescript-eslint/no-explicit-any
    (clients.runtime as unknown as { GetContainerEvents: (r: object) => grpcTypes.ClientReadableStream<Record<string, unknown>> }).GetContainerEvents({});
  return { call, events, podrun, inHost, runRoot, dataRoot, logDir, socket, start, kill, serverLog: () => serverLog };
}

export const sandboxConfig = (name: string, logDir: string, extra: object = {}) => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
  hostname: name, log_directory: logDir,
  linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  ...extra,
});

export const containerConfig = (name: string, command: string[], extra: object = {}) => ({
  metadata: { name, attempt: 0 }, image: { image: BUSYBOX }, command, log_path: `${name}.log`, ...extra,
});

export const grpcCode = (e: unknown): number => (e as grpcTypes.ServiceError).code;

