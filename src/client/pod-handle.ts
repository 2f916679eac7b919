/** A started pod, as a test uses it: exec, logs, waits, ports, copies, events, and removal that `await using`
 * cannot forget. Every call goes to podrun's pod library with the client's options. */
import type net from 'node:net';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { PodrunError } from '../errors';
import {
  execCapture, execStream, inspectPod, podLogs, podNetworkNamespace, removePodByName, stopPodByName, watchPod,
  type ExecOutput, type ExecProcessOptions, type ExecSession, type PodEvent, type PodOptions, type PodStatusReport, type PodSummary, type PodManifest,
} from '../pod';
import { AsyncQueue } from './async-queue';
import { lineSplitter } from './lines';
import { archivePath, copyInArchive, extractUntrusted, firstFileOf, type CopySource } from './copy';
import { connectIn } from '../network/netns-connect';
import { PASTA_NETWORK } from '../network/pasta';
import { forwardPort, httpUrl, type ForwardedPort } from './port-forward';
import { waitUntil, type WaitStrategy, type WaitTarget } from './wait';

/** What exec printed, as text (the default) */
export interface ExecText {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface PodExecOptions extends ExecProcessOptions {
  /** written to its stdin (else it reads /dev/null) */
  stdin?: string | Buffer | NodeJS.ReadableStream;
  /** killed (SIGKILL) after this long; `timedOut` says so */
  timeoutMs?: number;
}

export interface PodLogOptions {
  /** default: the first app container */
  container?: string;
  /** keep reading as it writes, until it exits (or the reader stops) */
  follow?: boolean;
  /** only the last N lines of what is there now */
  tail?: number;
  /** only lines logged at or after this time */
  since?: Date;
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface PortOptions {
  /** `forward`: a listener on 127.0.0.1 forwarding into the pod's network namespace (any pod); `podIP`: the pod's
   * CNI address itself. Default: podIP when the pod has one, else forward. */
  via?: 'forward' | 'podIP';
}

export interface PodAddress {
  host: string;
  port: number;
  /** `http://host:port/path` */
  url(path?: string): string;
}

export class Pod implements AsyncDisposable, WaitTarget {
  readonly #o: Partial<PodOptions>;
  readonly #forwards = new Map<number, Promise<ForwardedPort>>();

  constructor(readonly id: string, readonly name: string, options: Partial<PodOptions>) {
    this.#o = options;
  }

  /** everything podrun knows of it now: status as the API shows it, the manifest it runs */
  inspect(): PodSummary & { manifest: PodManifest } {
    return inspectPod(this.id, this.#o);
  }

  podStatus(): PodStatusReport {
    return this.inspect().status;
  }

  /** Run a command and collect what it printed (text; `encoding: 'buffer'` for bytes). */
  exec(command: string[], o?: PodExecOptions & { encoding?: 'utf8' }): Promise<ExecText>;
  exec(command: string[], o: PodExecOptions & { encoding: 'buffer' }): Promise<ExecOutput>;
  async exec(command: string[], o: PodExecOptions & { encoding?: 'utf8' | 'buffer' } = {}): Promise<ExecText | ExecOutput> {
    const r = await execCapture(this.id, command, { ...this.#o, ...o });
    if (o.encoding === 'buffer') return r;
    return { exitCode: r.exitCode, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), timedOut: r.timedOut };
  }

  /** Start a command and get its streams: `stdin` (when asked), `stdout`, `stderr` (none with `tty`), `result`. */
  execStream(command: string[], o: ExecProcessOptions & { stdin?: boolean; tty?: boolean } = {}): ExecSession {
    return execStream(this.id, command, { ...this.#o, ...o });
  }

  /** WaitTarget: exec for wait strategies */
  async run(command: string[], o: { container?: string; timeoutMs?: number }): Promise<{ exitCode: number }> {
    return execCapture(this.id, command, { ...this.#o, ...o });
  }

  /** A container's log as text (without `follow`: what it holds now). */
  async logs(o: PodLogOptions = {}): Promise<string> {
    let text = '';
    await this.#readLog(o, (t) => {
      text += t;
    });
    return text;
  }

  /** A container's log as a stream of text (a Readable is also async-iterable). */
  logStream(o: PodLogOptions = {}): Readable {
    const out = new PassThrough({ encoding: 'utf8' });
    const ac = new AbortController();
    out.once('close', () => ac.abort());
    this.#readLog({ ...o, signal: o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal }, (t) => {
      if (!out.write(t)) return new Promise<void>((r) => out.once('drain', r));
    }).then(() => out.end(), (e: unknown) => out.destroy(e as Error));
    return out;
  }

  /** A container's log line by line (without the newline): `for await (const line of pod.logLines({ follow: true }))`. */
  logLines(o: PodLogOptions = {}): AsyncIterable<string> {
    const q = new AsyncQueue<string>();
    const lines = lineSplitter((l) => q.push(l));
    this.#readLog({ ...o, signal: o.signal ? AbortSignal.any([o.signal, q.abort.signal]) : q.abort.signal }, (t) => lines.write(t)).then(() => {
      lines.end();
      q.end();
    }, (e: unknown) => q.end(e));
    return q;
  }

  #readLog(o: PodLogOptions, write: (text: string) => void | Promise<void>): Promise<void> {
    return podLogs(this.id, o.container, write, {
      ...this.#o, follow: o.follow, tail: o.tail, timestamps: o.timestamps, signal: o.signal,
      ...(o.since ? { sinceMs: o.since.getTime() } : {}),
    });
  }

  /** WaitTarget: follow a container's log from the start of its current run */
  followLog(container: string | undefined, write: (text: string) => void, signal: AbortSignal): Promise<void> {
    return this.#readLog({ container, follow: true, signal }, write);
  }

  /** WaitTarget: the last lines of each container's log */
  async lastLogLines(lines: number): Promise<string> {
    const m = this.inspect().manifest;
    const out: string[] = [];
    for (const c of [...(m.spec.initContainers ?? []), ...m.spec.containers]) {
      const text = await this.logs({ container: c.name, tail: lines }).catch(() => '');
      if (text.trim()) out.push(text.trimEnd().replace(/^/gm, `[${c.name}] `));
    }
    return out.join('\n');
  }

  /** WaitTarget: the TCP ports the containers declare */
  declaredPorts(): number[] {
    const ports = this.inspect().manifest.spec.containers.flatMap((c) => (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort));
    return [...new Set(ports)];
  }

  /** Wait until the strategy is met (default timeout 60 s); fails early when the pod ends or a container crashes. */
  async waitFor(strategy: WaitStrategy, o: { timeoutMs?: number } = {}): Promise<this> {
    await waitUntil(this, strategy, o.timeoutMs ?? 60_000);
    return this;
  }

  /** the pod's network namespace (null: the host's, for hostNetwork pods) */
  #netns(): string | null {
    return podNetworkNamespace(this.id, this.#o);
  }

  /** WaitTarget: a connection to the pod's localhost:port */
  connect(port: number): Promise<net.Socket> {
    return connectIn(this.#netns(), port);
  }

  /** Where the test reaches the pod's port: the pod IP on a CNI network, else (loopback, pasta) a forward from 127.0.0.1 (made once
   * per port, closed when the pod is removed). */
  async port(containerPort: number, o: PortOptions = {}): Promise<PodAddress> {
    if (!(Number.isInteger(containerPort) && containerPort > 0 && containerPort <= 65535)) throw new PodrunError('EINVALID_CONFIG', `port: ${containerPort} is not a port`, { field: 'port' });
    // under pasta the pod's IP is the host's own: from here it reaches the host, not the pod (what the pod was
    // started on counts, not this handle's options)
    const { network, status } = this.inspect();
    const podIP = network === PASTA_NETWORK ? undefined : status.podIP;
    if (o.via === 'podIP' && !podIP) throw new PodrunError('ENOTFOUND', `pod ${this.name} has no pod IP of its own (it is not on a CNI network)`);
    if ((o.via ?? (podIP ? 'podIP' : 'forward')) === 'podIP') {
      const host = podIP!;
      return { host, port: containerPort, url: (p?: string) => httpUrl(host, containerPort, p) };
    }
    let f = this.#forwards.get(containerPort);
    if (!f) {
      f = forwardPort(this.#netns(), containerPort, { onError: (e) => this.#o.onWarning?.(`pod ${this.name}: ${e.message}`) });
      this.#forwards.set(containerPort, f);
      f.catch(() => this.#forwards.delete(containerPort));
    }
    const { host, port, url } = await f;
    return { host, port, url };
  }

  /** Copy a host file or directory, bytes, or a tar stream to `target` in a container (which needs `tar`, as for
   * kubectl cp). A directory's contents land under target; a tar stream is extracted in target. */
  async copyTo(target: string, source: CopySource, o: { container?: string } = {}): Promise<void> {
    const { archive, command } = copyInArchive(target, source);
    const r = await execCapture(this.id, command, { ...this.#o, container: o.container, stdin: archive });
    if (r.exitCode !== 0) throw new PodrunError('EINTERNAL', `copying to ${target} in pod ${this.name}: ${command.join(' ')} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  }

  /** A file or directory of a container as a tar stream (the container's `tar -c`). */
  copyFrom(source: string, o: { container?: string } = {}): Readable {
    const member = archivePath(source, 'source');
    const session = execStream(this.id, ['tar', '-c', '-f', '-', '-C', path.posix.dirname(`/${member}`), path.posix.basename(member)], { ...this.#o, container: o.container });
    const out = new PassThrough();
    let err = '';
    session.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    session.stdout.pipe(out, { end: false });
    void Promise.all([session.result, new Promise((r) => session.stdout.once('close', r))]).then(([r]) => {
      if (r.status === 0) out.end();
      else out.destroy(new PodrunError('ENOTFOUND', `copying ${source} from pod ${this.name}: tar exited ${r.status}: ${err.trim()}`));
    }, (e: unknown) => out.destroy(e as Error));
    return out;
  }

  /** Copy a container's file or directory into the host directory `dest` (as `dest/<its name>`). What comes
   * back is the container's and untrusted: see src/client/copy.ts. */
  async copyFromTo(source: string, dest: string, o: { container?: string } = {}): Promise<void> {
    await extractUntrusted(this.copyFrom(source, o), dest, this.#o.onWarning);
  }

  /** A container's file, as bytes. */
  async readFile(file: string, o: { container?: string } = {}): Promise<Buffer> {
    return firstFileOf(this.copyFrom(file, o), `${file} in pod ${this.name}`);
  }

  /** Its status changes as they happen, until it is removed (the last event: `Removed`) or the loop stops. */
  watch(o: { signal?: AbortSignal } = {}): AsyncIterable<PodEvent & { time: string }> {
    const q = new AsyncQueue<PodEvent & { time: string }>();
    const signal = o.signal ? AbortSignal.any([o.signal, q.abort.signal]) : q.abort.signal;
    watchPod(this.id, (e) => q.push(e), { ...this.#o, signal, untilRemoved: true }).then(() => q.end(), (e: unknown) => q.end(e));
    return q;
  }

  /** Stop its containers (grace period: the pod's, or `time` seconds); the pod stays until removed. */
  async stop(o: { time?: number } = {}): Promise<void> {
    await stopPodByName(this.id, { ...this.#o, ...o });
  }

  /** Remove it (stopping it first, SIGKILL with `force`), and close its forwards. */
  async remove(o: { force?: boolean } = {}): Promise<void> {
    await Promise.all([...this.#forwards.values()].map((f) => f.then((x) => x.close(), () => undefined)));
    this.#forwards.clear();
    await removePodByName(this.id, { ...this.#o, force: o.force ?? true });
  }

  /** `await using pod = await podrun.start(…)`: removed when the scope ends (already removed is fine). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ force: true }).catch((e: unknown) => {
      if ((e as PodrunError).code !== 'ENOTFOUND') throw e;
    });
  }
}
