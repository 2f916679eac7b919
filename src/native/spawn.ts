/**
 * Child processes without fork(): the subset of child_process.spawn podrun uses, over posix_spawn (vfork-like:
 * its cost does not grow with Node's heap, where libuv's fork() stops the event loop for 6–20 ms per child in
 * a CRI server or a test runner) and a pidfd waited for in the event loop. Programs only: `file` is absolute.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { nativeApi } from './index';

/** 'pipe': a unix socket pair as libuv makes them; 'ignore': /dev/null; 'inherit': our fd of that number; a number: that fd of ours */
export type StdioSpec = 'pipe' | 'ignore' | 'inherit' | number;

export interface SpawnOptions {
  /** the child's whole environment (default: ours) */
  env?: Record<string, string | undefined>;
  /** fd i of the child (default: ignore, ignore, ignore) */
  stdio?: StdioSpec[];
  /** a new session (unref() then lets it outlive us) */
  detached?: boolean;
}

type ChildEvents = {
  error: [e: Error];
  exit: [code: number | null, signal: NodeJS.Signals | null];
  close: [code: number | null, signal: NodeJS.Signals | null];
};

/** A started child: ChildProcess's events ('error', 'exit', 'close' after its pipes closed) and fields, as far as podrun uses them. */
export class SpawnedChild extends EventEmitter<ChildEvents> {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** our end of each 'pipe' fd, null for the others */
  readonly stdio: Array<net.Socket | null>;
  #pidfd = -1;
  #openPipes = 0;
  #exited = false;

  constructor(file: string, args: readonly string[], o: SpawnOptions = {}) {
    super();
    const specs = o.stdio ?? ['ignore', 'ignore', 'ignore'];
    const native = nativeApi();
    const childFds: number[] = [];
    const ours: Array<number | null> = [];
    const toClose: number[] = [];
    let devNull: number | undefined;
    try {
      specs.forEach((spec, i) => {
        if (spec === 'pipe') {
          const [mine, theirs] = native.socketPair();
          ours.push(mine);
          toClose.push(theirs);
          childFds.push(theirs);
        } else {
          ours.push(null);
          if (spec === 'ignore') childFds.push((devNull ??= fs.openSync('/dev/null', 'r+')));
          else childFds.push(spec === 'inherit' ? i : spec);
        }
      });
      if (!path.isAbsolute(file)) throw Object.assign(new Error(`spawn ${file}: not an absolute path`), { code: 'EINVAL' });
      const env = o.env ? Object.entries(o.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`) : null;
      const r = native.spawnFile(file, [file, ...args], env, childFds, !!o.detached);
      this.pid = r.pid;
      this.#pidfd = r.pidfd;
    } catch (e) {
      for (const fd of ours) if (fd !== null) fs.closeSync(fd);
      this.stdio = specs.map(() => null);
      this.#exited = true;
      process.nextTick(() => this.emit('error', e as Error));
      setImmediate(() => this.emit('close', (e as { errno?: number }).errno ?? -1, null)); // later, as ChildProcess's
      return;
    } finally {
      for (const fd of toClose) fs.closeSync(fd);
      if (devNull !== undefined) fs.closeSync(devNull);
    }
    this.stdio = ours.map((fd) => {
      if (fd === null) return null;
      const socket = new net.Socket({ fd, readable: true, writable: true });
      this.#openPipes++;
      socket.once('close', () => {
        this.#openPipes--;
        this.#maybeClose();
      });
      return socket;
    });
    native.waitExit(this.#pidfd).then(
      (st) => {
        native.closeFd(this.#pidfd);
        this.#pidfd = -1;
        this.exitCode = st.exitCode;
        this.signalCode = st.signal === null ? null : signalName(st.signal);
        this.#exited = true;
        this.emit('exit', this.exitCode, this.signalCode);
        // as ChildProcess does: a pipe nobody reads is drained, so its end (and 'close') is seen
        for (const s of this.stdio) if (s && s.readableFlowing === null) s.resume();
        this.#maybeClose();
      },
      (e: unknown) => this.emit('error', e as Error),
    );
  }

  get stdin(): net.Socket | null { return this.stdio[0] ?? null; }
  get stdout(): net.Socket | null { return this.stdio[1] ?? null; }
  get stderr(): net.Socket | null { return this.stdio[2] ?? null; }

  /** Through its pidfd: never another process that reused the pid. False once it has been reaped. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#pidfd < 0) return false;
    nativeApi().sendSignal(this.#pidfd, typeof signal === 'number' ? signal : osConstants.signals[signal]);
    return true;
  }

  /** Neither the child nor our pipes keep Node running (it is still reaped if it ends while we run). */
  unref(): void {
    if (this.#pidfd >= 0) nativeApi().unrefWait(this.#pidfd);
    for (const s of this.stdio) s?.unref();
  }

  #maybeClose(): void {
    if (this.#exited && this.#openPipes === 0) this.emit('close', this.exitCode, this.signalCode);
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const hit = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return hit ? (hit[0] as NodeJS.Signals) : null;
}

export function spawnChild(file: string, args: readonly string[], o?: SpawnOptions): SpawnedChild {
  return new SpawnedChild(file, args, o);
}

/** What a child printed and how it ended (error: it could not be started). */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  error?: Error;
}

/** Run a program to its end, `input` on its stdin (else none), collecting its stdout and stderr. */
export function runChild(file: string, args: readonly string[], o: { env?: SpawnOptions['env']; input?: string | Buffer } = {}): Promise<ChildOutcome> {
  const child = spawnChild(file, args, { env: o.env, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // a program may exit without reading
    child.stdin.end(o.input ?? '');
  }
  return new Promise((resolve) => {
    let error: Error | undefined;
    child.once('error', (e) => (error = e));
    child.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), ...(error ? { error } : {}) }));
  });
}
