/** `podrun cri`: CRI runtime.v1 over gRPC on a unix socket (@grpc/grpc-js),
 * the pod library in this process. Requests are decoded by
 * @grpc/proto-loader from podrun's own proto (src/cri/proto); errors become
 * gRPC statuses (a request field that is wrong: INVALID_ARGUMENT, naming it). */
import fs from 'node:fs';
import path from 'node:path';
import type * as grpcTypes from '@grpc/grpc-js';
import { PodrunError } from '../errors';
import { DEFAULT_DATA_ROOT } from '../image';
import { packageRoot } from '../native';
import { DEFAULT_STATE_ROOT } from '../oci/lifecycle';
import { recursiveMountAttributes } from '../oci/host';
import type { CriConfig } from './config';
import { CriImages, criImage as criImageOf } from './image-service';
import { CRI_VERSION, CriRuntime, RUNTIME_NAME } from './runtime-service';
import { invalidArgument } from './sandbox-plan';
import { CriStreaming } from './streaming-backend';
import { METRIC_DESCRIPTORS } from './metrics';
import { StreamingServer } from './streaming/server';
import { traced } from '../util/trace';
import { startAuthorityFront } from './authority-front';
import net from 'node:net';

export const DEFAULT_CRI_SOCKET = 'unix:///run/podrun/cri.sock';

export interface CriServer {
  /** unix:///… */
  address: string;
  runtime: CriRuntime;
  images: CriImages;
  /** base URL of the streaming server (exec, attach, port-forward) */
  streamingUrl: string;
  close(): Promise<void>;
}

type Grpc = typeof grpcTypes;
const grpc = (): Grpc => require('@grpc/grpc-js') as Grpc;

/** The CRI API versions served: runtime.v1, and runtime.v1alpha2 for kubelets before 1.23 (as containerd 1.6/1.7 serve
 * both). v1 began as a copy of v1alpha2: the same services, messages and field numbers under another package, so one
 * proto, loaded under each package name, and one implementation serve both. */
export const CRI_API_VERSIONS = ['v1', 'v1alpha2'] as const;

/** podrun's proto, decoded as src/cri/types.ts describes it, under runtime.v1 and runtime.v1alpha2 */
export function loadCriProto(): grpcTypes.GrpcObject {
  const loader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const protobuf = require('protobufjs') as typeof import('protobufjs');
  const text = fs.readFileSync(path.join(packageRoot(), 'src', 'cri', 'proto', 'runtime_v1.proto'), 'utf8');
  const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
  const defs = CRI_API_VERSIONS.map((v) => {
    const root = protobuf.parse(text.replace(/^package runtime\.v1;$/m, `package runtime.${v};`), { keepCase: true }).root;
    return loader.fromJSON(root.toJSON(), options);
  });
  return grpc().loadPackageDefinition(Object.assign({}, ...defs) as grpcTypes.GrpcObject & Parameters<Grpc['loadPackageDefinition']>[0]);
}

/** A thrown error as the gRPC status a CRI client expects. */
export function grpcStatus(e: unknown): { code: number; details: string } {
  const s = grpc().status;
  const pe = e instanceof PodrunError ? e : undefined;
  const details = (e as Error)?.message ?? String(e);
  if (!pe) return { code: s.UNKNOWN, details };
  if (pe.cause === 'timeout') return { code: s.DEADLINE_EXCEEDED, details };
  if (pe.cause === 'unimplemented') return { code: s.UNIMPLEMENTED, details };
  switch (pe.code) {
    case 'EINVALID_CONFIG': return { code: pe.field ? s.INVALID_ARGUMENT : s.FAILED_PRECONDITION, details };
    case 'ENOTFOUND': return { code: s.NOT_FOUND, details };
    case 'EEXIST': return { code: s.ALREADY_EXISTS, details };
    case 'EHOST': return { code: s.FAILED_PRECONDITION, details };
    default: return { code: s.UNKNOWN, details };
  }
}

/** One operation at a time per key (a sandbox): kubelet's calls for one pod do not interleave half-way. */
class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

type Handler = (req: Record<string, any>, method: string) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any -- decoded messages, typed in each handler

function unary(fn: Handler, after?: () => void): grpcTypes.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    traced(`cri: ${call.getPath()}`, async () => fn(call.request as Record<string, unknown>, call.getPath()))
      .then((r) => callback(null, r ?? {}), (e: unknown) => callback(grpcStatus(e) as grpcTypes.ServiceError))
      .finally(after);
  };
}

export interface CriServerOptions {
  listen?: string;
  config?: CriConfig;
}

export async function startCriServer(o: CriServerOptions = {}): Promise<CriServer> {
  const config = o.config ?? {};
  const root = config.root ?? DEFAULT_STATE_ROOT;
  const dataRoot = config.dataRoot ?? DEFAULT_DATA_ROOT;
  const address = o.listen ?? config.listen ?? DEFAULT_CRI_SOCKET;
  if (!address.startsWith('unix:///')) throw new PodrunError('EINVALID_CONFIG', `listen: ${address} is not unix:///<path>`, { field: 'listen' });
  const socket = address.slice('unix://'.length);
  const images = new CriImages(dataRoot, config);
  const runtime = new CriRuntime(root, dataRoot, config, images);
  const pkg = loadCriProto() as unknown as { runtime: Record<(typeof CRI_API_VERSIONS)[number], Record<string, { service: grpcTypes.ServiceDefinition }>> };
  const version = (require('../../../package.json') as { version: string }).version;
  const streamingBackend = new CriStreaming(root, runtime);
  const streaming = new StreamingServer(streamingBackend, config.streaming?.address);
  const queue = new KeyedQueue();
  /** after a call that changes state: its events now, not at the next look */
  const changed = (): void => runtime.emitTransitions();
  const bySandbox = <T>(id: string | undefined, fn: () => Promise<T>): Promise<T> => queue.run(id ?? '', fn);
  const sandboxOfContainer = (id: string): string | undefined => runtime.findContainer(id)?.pod.id;

  const server = new (grpc().Server)();
  const runtimeService: grpcTypes.UntypedServiceImplementation = {
    // the version of the API the call came by
    Version: unary((_r, method) => ({ version: '0.1.0', runtime_name: RUNTIME_NAME, runtime_version: version, runtime_api_version: method.startsWith('/runtime.v1alpha2.') ? 'v1alpha2' : CRI_VERSION })),
    Status: unary((r) => {
      const network = runtime.networkName();
      return {
        status: {
          conditions: [
            { type: 'RuntimeReady', status: true, reason: '', message: '' },
            network
              ? { type: 'NetworkReady', status: true, reason: '', message: '' }
              : { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: `no CNI network configuration in ${config.cni?.confDir ?? '/etc/cni/net.d'}` },
          ],
        },
        info: r.verbose ? { config: JSON.stringify({ root, dataRoot, network, podCidr: runtime.podCidr, ...config }) } : {},
        runtime_handlers: [{ name: '', features: { recursive_read_only_mounts: recursiveMountAttributes(), user_namespaces: true } }],
        features: { supplemental_groups_policy: true },
      };
    }),
    RuntimeConfig: unary(() => ({ linux: { cgroup_driver: 'CGROUPFS' } })),
    UpdateRuntimeConfig: unary((r) => {
      runtime.podCidr = r.runtime_config?.network_config?.pod_cidr ?? '';
    }),
    RunPodSandbox: unary(async (r) => ({ pod_sandbox_id: await runtime.runPodSandbox(r.config, r.runtime_handler) }), changed),
    StopPodSandbox: unary((r) => bySandbox(r.pod_sandbox_id, () => runtime.stopPodSandbox(r.pod_sandbox_id)), changed),
    RemovePodSandbox: unary((r) => bySandbox(r.pod_sandbox_id, () => runtime.removePodSandbox(r.pod_sandbox_id)), changed),
    PodSandboxStatus: unary((r) => runtime.podSandboxStatus(r.pod_sandbox_id, r.verbose)),
    ListPodSandbox: unary((r) => ({ items: runtime.listPodSandbox(r.filter) })),
    CreateContainer: unary((r) => bySandbox(r.pod_sandbox_id, async () => ({ container_id: await runtime.createContainer(r.pod_sandbox_id, r.config) })), changed),
    StartContainer: unary((r) => bySandbox(sandboxOfContainer(r.container_id), () => runtime.startContainer(r.container_id)), changed),
    StopContainer: unary((r) => runtime.stopContainer(r.container_id, Number(r.timeout)), changed),
    RemoveContainer: unary((r) => bySandbox(sandboxOfContainer(r.container_id), () => runtime.removeContainer(r.container_id)), changed),
    ListContainers: unary((r) => ({ containers: runtime.listContainers(r.filter) })),
    ContainerStatus: unary((r) => runtime.containerStatus(r.container_id, r.verbose)),
    UpdateContainerResources: unary((r) => runtime.updateContainerResources(r.container_id, r.linux)),
    Exec: unary((r) => {
      streamingBackend.checkExec(r as never);
      return { url: streaming.execUrl(r as never) };
    }),
    Attach: unary((r) => {
      streamingBackend.checkAttach(r as never);
      return { url: streaming.attachUrl(r as never) };
    }),
    PortForward: unary((r) => {
      streamingBackend.checkPortForward(r as never);
      return { url: streaming.portForwardUrl(r as never) };
    }),
    ReopenContainerLog: unary((r) => runtime.reopenContainerLog(r.container_id)),
    ContainerStats: unary((r) => ({ stats: runtime.containerStats(r.container_id) })),
    ListContainerStats: unary((r) => ({ stats: runtime.listContainerStats(r.filter) })),
    PodSandboxStats: unary((r) => ({ stats: runtime.podSandboxStats(r.pod_sandbox_id) })),
    ListPodSandboxStats: unary((r) => ({ stats: runtime.listPodSandboxStats(r.filter) })),
    ListMetricDescriptors: unary(() => ({ descriptors: METRIC_DESCRIPTORS })),
    ListPodSandboxMetrics: unary(() => ({ pod_metrics: runtime.listPodSandboxMetrics() })),
    CheckpointContainer: unary(() => {
      throw new PodrunError('EINTERNAL', 'CheckpointContainer: podrun does not checkpoint containers (no CRIU support)', { cause: 'unimplemented' });
    }),
    GetContainerEvents: (call: grpcTypes.ServerWritableStream<unknown, unknown>) => {
      const send = (e: unknown): void => void call.write(e);
      runtime.events.on('event', send);
      runtime.watchEvents();
      const stop = (): void => {
        runtime.events.off('event', send);
        runtime.watchEvents();
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
    ExecSync: unary(async (r) => {
      const timeout = Number(r.timeout);
      if (!Number.isFinite(timeout) || timeout < 0) throw invalidArgument('timeout', `${r.timeout} is not a number of seconds`);
      const x = await runtime.execSync(r.container_id, r.cmd, timeout);
      return { stdout: x.stdout, stderr: x.stderr, exit_code: x.exitCode };
    }),
  };
  const imageService: grpcTypes.UntypedServiceImplementation = {
    ListImages: unary((r) => ({ images: images.list(r.filter?.image?.image) })),
    ImageStatus: unary((r) => {
      const img = images.find(r.image);
      return { image: img ? criImageOf(img) : null, info: img && r.verbose ? { info: JSON.stringify({ config: img.config, manifest: img.manifest }) } : {} };
    }),
    PullImage: unary(async (r) => ({ image_ref: (await images.pull(r.image, r.auth)).id })),
    RemoveImage: unary((r) => images.remove(r.image)),
    ImageFsInfo: unary(() => {
      const u = images.fsUsage();
      const usage = { timestamp: (BigInt(Date.now()) * 1_000_000n).toString(), fs_id: { mountpoint: u.mountpoint }, used_bytes: { value: u.usedBytes }, inodes_used: { value: u.inodesUsed } };
      return { image_filesystems: [usage], container_filesystems: [] };
    }),
  };
  for (const v of CRI_API_VERSIONS) {
    server.addService(pkg.runtime[v].RuntimeService.service, runtimeService);
    server.addService(pkg.runtime[v].ImageService.service, imageService);
  }

  fs.mkdirSync(path.dirname(socket), { recursive: true });
  removeStaleSocket(socket);
  // the gRPC server's own socket, beside the one clients use (src/cri/authority-front.ts says why)
  const backend = path.join(path.dirname(socket), `.${path.basename(socket)}.grpc`);
  fs.rmSync(backend, { force: true }); // its front's socket was stale: so is it
  let front: net.Server | undefined;
  try {
    await streaming.start();
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${backend}`, grpc().ServerCredentials.createInsecure(), (e) => (e ? reject(new PodrunError('EHOST', `listen ${address}: ${e.message}`)) : resolve()));
    });
    fs.chmodSync(backend, 0o600);
    front = await startAuthorityFront(socket, backend).catch((e: Error) => {
      throw new PodrunError('EHOST', `listen ${address}: ${e.message}`);
    });
  } catch (e) {
    await streaming.close();
    server.forceShutdown();
    fs.rmSync(backend, { force: true });
    throw e;
  }
  fs.chmodSync(socket, 0o660);
  return {
    address, runtime, images, streamingUrl: streaming.url,
    close: async () => {
      await streaming.close();
      await new Promise<void>((resolve) => front!.close(() => resolve()));
      await new Promise<void>((resolve) => server.tryShutdown(() => {
        fs.rmSync(socket, { force: true });
        fs.rmSync(backend, { force: true });
        resolve();
      }));
    },
  };
}


/** A socket file left by a server that died is in the way of bind; a live one is refused. */
function removeStaleSocket(socket: string): void {
  const st = fs.lstatSync(socket, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isSocket()) throw new PodrunError('EHOST', `${socket} exists and is not a socket`);
  const probe = require('node:child_process').spawnSync(process.execPath, ['-e', `require('net').connect(${JSON.stringify(socket)}).on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`], { timeout: 2000 });
  if (probe.status === 0) throw new PodrunError('EHOST', `${socket}: another server is listening there`);
  fs.rmSync(socket, { force: true });
}
