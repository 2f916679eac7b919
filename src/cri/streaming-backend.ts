/** The streaming server's sessions on podrun's containers and pods: an exec
 * through podrun-monitor (exec-session), an attach through the pod
 * monitor's attach, a port-forward over a connection made inside the pod's
 * network namespace (src/network/netns-connect.ts). Requests are checked
 * when the RPC asks for the URL, so a bad one fails there, naming the field. */
import { spawnChild } from '../native/spawn';
import type net from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { dialLocalhost } from '../network/netns-connect';
import { PodrunError } from '../errors';
import { monitorPath } from '../native';
import { startExecSession } from '../oci/lifecycle/exec-session';
import { containerDir } from '../oci/lifecycle/state-store';
import { podOciRoot } from '../pod/pod-store';
import type { CriRuntime } from './runtime-service';
import { invalidArgument } from './sandbox-plan';
import type { AttachRequest, CommandSession, ExecRequest, ForwardSession, PortForwardRequest, StreamingBackend } from './streaming/server';

export class CriStreaming implements StreamingBackend {
  constructor(private readonly root: string, private readonly runtime: CriRuntime) {}

  /** the running container a request names (its pod, and its OCI id) */
  #running(id: string): { ociRoot: string; ociId: string; tty: boolean; stdin: boolean } {
    const found = this.runtime.findContainer(id);
    if (!found) throw new PodrunError('ENOTFOUND', `container ${id} not found`);
    const { pod, c } = found;
    if (this.runtime.containerState(pod, c).state !== 'CONTAINER_RUNNING') throw new PodrunError('EINVALID_CONFIG', `container ${c.ociId} is not running`);
    const cfg = (c.cri ?? {}) as { tty?: boolean; stdin?: boolean };
    return { ociRoot: podOciRoot(this.root, pod.id), ociId: c.ociId, tty: cfg.tty === true, stdin: cfg.stdin === true };
  }

  checkExec(r: ExecRequest): void {
    if (!r.cmd.length) throw invalidArgument('cmd', 'required');
    if (r.tty && r.stderr) throw invalidArgument('stderr', 'tty and stderr cannot both be true');
    if (!r.stdin && !r.stdout && !r.stderr) throw invalidArgument('stdin', 'one of stdin, stdout and stderr must be true');
    this.#running(r.container_id);
  }

  checkAttach(r: AttachRequest): void {
    if (r.tty && r.stderr) throw invalidArgument('stderr', 'tty and stderr cannot both be true');
    if (!r.stdin && !r.stdout && !r.stderr) throw invalidArgument('stdin', 'one of stdin, stdout and stderr must be true');
    const c = this.#running(r.container_id);
    if (r.stdin && !c.stdin) throw invalidArgument('stdin', `container ${c.ociId} was not created with stdin`);
  }

  checkPortForward(r: PortForwardRequest): void {
    const pod = this.runtime.findSandbox(r.pod_sandbox_id);
    if (!pod) throw new PodrunError('ENOTFOUND', `pod sandbox ${r.pod_sandbox_id} not found`);
    if (this.runtime.sandboxState(pod) !== 'SANDBOX_READY') throw new PodrunError('EINVALID_CONFIG', `pod sandbox ${pod.id} is not ready`);
    r.port.forEach((p, i) => {
      if (!(p > 0 && p <= 65535)) throw invalidArgument(`port[${i}]`, `${p} is not a port`);
    });
  }

  exec(r: ExecRequest): CommandSession {
    const c = this.#running(r.container_id);
    const s = startExecSession(c.ociId, { root: c.ociRoot, args: r.cmd, tty: r.tty, stdin: r.stdin });
    return { ...s, result: s.result.then((x) => ({ exitCode: x.status ?? 137 })) };
  }

  attach(r: AttachRequest): CommandSession {
    const c = this.#running(r.container_id);
    // the container's output (stdout and stderr as the monitor keeps them: one stream) and, with stdin, its input
    const child = spawnChild(monitorPath(), ['attach', containerDir(c.ociRoot, c.ociId), ...(r.stdin ? ['--stdin'] : [])], { stdio: [r.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return {
      stdin: r.stdin ? (child.stdin as Writable) : undefined,
      stdout: child.stdout as Readable,
      kill: () => child.kill('SIGTERM'),
      result: new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code) => (code === 0 ? resolve({ exitCode: 0 }) : reject(new PodrunError('EINTERNAL', err.trim().replace(/^podrun-monitor: /, '') || `attach ended with ${code}`))));
      }),
    };
  }

  forward(podSandboxId: string, port: number): ForwardSession {
    const pod = this.runtime.findSandbox(podSandboxId);
    if (!pod?.sandbox) throw new PodrunError('ENOTFOUND', `pod sandbox ${podSandboxId} not found`);
    const netns = pod.sandbox.namespaces.network ?? null;
    // the session's streams exist at once; the connection joins them once it is made
    const input = new PassThrough();
    const output = new PassThrough();
    let socket: net.Socket | undefined;
    let killed = false;
    const result = (async (): Promise<string | undefined> => {
      try {
        socket = await dialLocalhost(netns, port);
      } catch (e) {
        output.end();
        return `dial tcp localhost:${port}: ${(e as Error).message.replace(/^connect: /, '')}`;
      }
      if (killed) socket.destroy();
      socket.on('error', () => undefined); // a reset ends the session as the end does
      input.pipe(socket);
      socket.pipe(output);
      await new Promise((r) => socket!.once('close', r));
      output.end();
      return undefined;
    })();
    return { stdin: input, stdout: output, kill: () => ((killed = true), socket?.destroy()), result };
  }
}
