/** podrun-oci's warm helper: `create` served by a Node process that stays a
 * few seconds after its last request, so an engine's create pays Node's
 * start-up (≈ 100 ms here, more than runc's whole create) once per burst
 * instead of once per container.
 *
 * podrun-oci's C front end (native/oci/oci-fast.c) connects to
 * <root>/oci-helper.sock, sends its argv, cwd, namespaces and cgroup; the
 * helper runs create as the CLI would, except that podrun-monitor is
 * started by the front end itself (a "spawn" message): the container must
 * stay below the caller's subreaper (conmon, a shim), as runc's does. The
 * monitor's report comes back over the socket. Anything the helper does not
 * handle as the CLI would — another command, an option it does not know,
 * another mount or PID namespace, another --root, a rebuilt podrun — is
 * answered "fallback" before anything is made, and the front end runs the
 * Node CLI as before. The socket is root's alone (0600 in a 0700 --root).
 *
 * Wire format: netstrings (`<len>:<bytes>,`), one message a list of them. */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createContainer } from '../oci/lifecycle/create';
import { execPlan, readProcessFile, type ExecOptions } from '../oci/lifecycle/exec';
import { translateLaunchError } from '../oci/launch-error';
import { encodePlan } from '../oci/plan-encode';
import type { NativeLaunchError } from '../native';
import { constants as osConstants } from 'node:os';
import { monitorPath } from '../native';
import { defaultRoot } from '../util/rootless';
import type { LaunchedMonitor, MonitorLauncher } from '../oci/lifecycle/monitor-client';
import { logError, runcWarning, type OciGlobals } from './oci-commands';

export const HELPER_SOCKET = 'oci-helper.sock';
const PROTOCOL = 'podrun-oci-helper/1';

/** Netstrings in, whole messages out (a message: its count first). */
export class NetstringReader {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): string[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: string[] = [];
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) break;
      const len = Number(this.buf.subarray(0, colon).toString());
      if (!Number.isSafeInteger(len) || len < 0 || colon > 10) throw new Error('bad netstring');
      if (this.buf.length < colon + 1 + len + 1) break;
      if (this.buf[colon + 1 + len] !== 0x2c) throw new Error('bad netstring');
      out.push(this.buf.subarray(colon + 1, colon + 1 + len).toString());
      this.buf = this.buf.subarray(colon + 2 + len);
    }
    return out;
  }
}

export function netstrings(...items: (string | Buffer)[]): Buffer {
  return Buffer.concat(items.map((s) => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    return Buffer.concat([Buffer.from(`${b.length}:`), b, Buffer.from(',')]);
  }));
}

export interface CreateRequest {
  globals: Globals;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  preserveFds: number;
  containerLog?: string;
  strictLimits: boolean;
}

type Globals = Pick<OciGlobals, 'root' | 'log' | 'logFormat'>;

/** A walk over runc's argv: `--name value`, `--name=value`, `-x value`. */
class ArgvWalk {
  i = 0;
  constructor(readonly argv: string[]) {}
  /** a's value when a is one of names (its value taken too), else undefined */
  value(a: string, ...names: string[]): string | undefined {
    for (const name of names) {
      if (a === name) return this.argv[++this.i];
      if (name.startsWith('--') && a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    }
    return undefined;
  }
  /** runc's global options, up to the command (left as the current word); undefined for
   * one the CLI reads differently */
  globals(): Globals | undefined {
    const g: Globals = { root: defaultRoot('state', '/run/podrun'), logFormat: 'text' };
    for (; this.i < this.argv.length && this.argv[this.i].startsWith('-'); this.i++) {
      const a = this.argv[this.i];
      let v: string | undefined;
      if ((v = this.value(a, '--root')) !== undefined) g.root = v;
      else if ((v = this.value(a, '--log')) !== undefined) g.log = v;
      else if ((v = this.value(a, '--log-format')) !== undefined) {
        if (v !== 'text' && v !== 'json') return undefined;
        g.logFormat = v;
      } else if (a !== '--debug') return undefined;
    }
    return g;
  }
}

const absolute = (cwd: string, g: Globals): Globals => ({ root: path.resolve(cwd, g.root), log: g.log && path.resolve(cwd, g.log), logFormat: g.logFormat });

/** runc's argv for `create`, paths made absolute against the caller's cwd;
 * undefined for anything the CLI would read differently. Pure. */
export function parseCreateArgv(argv: string[], cwd: string): CreateRequest | undefined {
  const w = new ArgvWalk(argv);
  const g = w.globals();
  if (!g || argv[w.i++] !== 'create') return undefined;
  const r: Omit<CreateRequest, 'globals' | 'id'> & { id?: string } = { bundle: '.', noPivot: false, preserveFds: 0, strictLimits: false };
  for (; w.i < argv.length; w.i++) {
    const a = argv[w.i];
    let v: string | undefined;
    if (!a.startsWith('-')) {
      if (r.id !== undefined) return undefined;
      r.id = a;
    } else if ((v = w.value(a, '--bundle', '-b')) !== undefined) r.bundle = v;
    else if ((v = w.value(a, '--pid-file')) !== undefined) r.pidFile = v;
    else if ((v = w.value(a, '--console-socket')) !== undefined) r.consoleSocket = v;
    else if ((v = w.value(a, '--container-log')) !== undefined) r.containerLog = v;
    else if ((v = w.value(a, '--preserve-fds')) !== undefined) {
      if (!/^\d+$/.test(v)) return undefined;
      r.preserveFds = Number(v);
    } else if (a === '--no-pivot') r.noPivot = true;
    else if (a === '--no-new-keyring') continue;
    else if (a === '--strict-limits') r.strictLimits = true;
    else return undefined;
  }
  if (r.id === undefined) return undefined;
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(cwd, p));
  return {
    globals: absolute(cwd, g),
    id: r.id, bundle: abs(r.bundle)!, pidFile: abs(r.pidFile), consoleSocket: abs(r.consoleSocket),
    noPivot: r.noPivot, preserveFds: r.preserveFds, containerLog: abs(r.containerLog), strictLimits: r.strictLimits,
  };
}

export interface ExecRequest {
  globals: Globals;
  id: string;
  options: Omit<ExecOptions, 'root' | 'onWarning' | 'native' | 'stdioFd' | 'stdinFd' | 'process'> & { processFile?: string };
}

/** runc's argv for `exec` as the CLI reads it (options before the id; what follows the id is the
 * command), paths made absolute; undefined for anything else, and for a terminal without
 * --console-socket (the CLI proxies that one itself). Pure. */
export function parseExecArgv(argv: string[], cwd: string): ExecRequest | undefined {
  const w = new ArgvWalk(argv);
  const g = w.globals();
  if (!g || argv[w.i++] !== 'exec') return undefined;
  const o: ExecRequest['options'] = {};
  const whole = (v: string): number | undefined => (/^\d+$/.test(v) ? Number(v) : undefined);
  for (; w.i < argv.length && argv[w.i].startsWith('-'); w.i++) {
    const a = argv[w.i];
    let v: string | undefined;
    if ((v = w.value(a, '--process', '-p')) !== undefined) o.processFile = path.resolve(cwd, v);
    else if ((v = w.value(a, '--cwd')) !== undefined) o.cwd = v;
    else if ((v = w.value(a, '--env', '-e')) !== undefined) o.env = [...(o.env ?? []), v];
    else if ((v = w.value(a, '--user', '-u')) !== undefined) {
      const m = /^(\d+)(?::(\d+))?$/.exec(v);
      if (!m) return undefined;
      o.user = { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
    } else if ((v = w.value(a, '--additional-gids', '-g')) !== undefined) {
      const n = whole(v);
      if (n === undefined) return undefined;
      o.additionalGids = [...(o.additionalGids ?? []), n];
    } else if ((v = w.value(a, '--cap', '-c')) !== undefined) o.addCapabilities = [...(o.addCapabilities ?? []), v];
    else if ((v = w.value(a, '--pid-file')) !== undefined) o.pidFile = path.resolve(cwd, v);
    else if ((v = w.value(a, '--console-socket')) !== undefined) o.consoleSocket = path.resolve(cwd, v);
    else if ((v = w.value(a, '--preserve-fds')) !== undefined) {
      if (whole(v) === undefined) return undefined;
      o.preserveFds = Number(v);
    } else if (a === '--no-new-privs') o.noNewPrivileges = true;
    else if (a === '--detach' || a === '-d') o.detach = true;
    else if (a === '--tty' || a === '-t') o.tty = true;
    else return undefined;
  }
  const id = argv[w.i++];
  if (id === undefined || (o.tty && !o.consoleSocket)) return undefined;
  o.args = argv.slice(w.i);
  return { globals: absolute(cwd, g), id, options: o };
}

/** The monitor started by the client: its pid, then its report, come back over the socket. */
function remoteLauncher(conn: net.Socket, incoming: AsyncIterator<string[]>): MonitorLauncher {
  return async (exe, args, reportFd): Promise<LaunchedMonitor> => {
    conn.write(netstrings(String(args.length + 4), 'spawn', String(reportFd), exe, String(args.length), ...args));
    const first = await incoming.next();
    if (first.done || first.value[0] !== 'pid') throw new Error('podrun-oci: the client did not start podrun-monitor');
    const report = new PassThrough();
    let exitedWith: (code: number | null) => void = () => undefined;
    const exited = new Promise<number | null>((r) => (exitedWith = r));
    void (async () => {
      for (;;) {
        const m = await incoming.next();
        if (m.done) { report.end(); exitedWith(null); return; }
        if (m.value[0] === 'report') report.write(m.value[1]);
        else if (m.value[0] === 'eof') { report.end(); exitedWith(Number(m.value[1]) >= 0 ? Number(m.value[1]) : null); return; }
      }
    })();
    return { pid: Number(first.value[1]), report, exited, release: () => report.destroy() };
  };
}

/** Messages of one connection: each a list of netstrings led by their count. */
async function* messages(conn: net.Socket): AsyncGenerator<string[]> {
  const reader = new NetstringReader();
  let pending: string[] = [];
  for await (const chunk of conn) {
    pending.push(...reader.push(chunk as Buffer));
    while (pending.length > 0) {
      const n = Number(pending[0]);
      if (pending.length < n + 1) break;
      yield pending.slice(1, n + 1);
      pending = pending.slice(n + 1);
    }
  }
}

/** What would make this process see another world than the caller's. */
interface Fingerprint { mntns: string; pidns: string; files: string }

function fingerprint(): Fingerprint {
  const files = [__filename, path.join(__dirname, '..', 'oci', 'lifecycle', 'create.js'), monitorPath()]
    .map((f) => { const s = fs.statSync(f); return `${s.ino}:${s.mtimeMs}`; }).join(',');
  return { mntns: fs.readlinkSync('/proc/self/ns/mnt'), pidns: fs.readlinkSync('/proc/self/ns/pid'), files };
}

async function serveOne(conn: net.Socket, root: string, mine: Fingerprint, onStale: () => void): Promise<void> {
  const incoming = messages(conn)[Symbol.asyncIterator]();
  const reply = (...items: string[]): void => void conn.end(netstrings(String(items.length), ...items));
  const first = await incoming.next();
  if (first.done) return;
  const [protocol, cwd, mntns, pidns, cgroup, ...argv] = first.value;
  let now: Fingerprint | undefined;
  try {
    now = fingerprint();
  } catch {
    now = undefined;
  }
  if (!now || now.files !== mine.files) onStale();
  const same = protocol === PROTOCOL && now?.files === mine.files && mntns === mine.mntns && pidns === mine.pidns;
  const create = same ? parseCreateArgv(argv, cwd) : undefined;
  const exec = same && !create ? parseExecArgv(argv, cwd) : undefined;
  const g = create?.globals ?? exec?.globals;
  if (!g || g.root !== root) {
    reply('fallback');
    return;
  }
  const stderr: string[] = [];
  const warn = (m: string): void => {
    if (g.log) logError(g, m, 'warning');
    else stderr.push(runcWarning(m));
  };
  let code = 0;
  try {
    if (create) {
      await createContainer(create.bundle, {
        id: create.id, root: g.root, pidFile: create.pidFile, consoleSocket: create.consoleSocket, noPivot: create.noPivot,
        preserveFds: create.preserveFds, containerLog: create.containerLog, strictLimits: create.strictLimits,
        onWarning: warn, launcher: remoteLauncher(conn, incoming), ownCgroup: cgroup || '/',
      });
    } else {
      code = await remoteExec(conn, incoming, exec!, warn);
      if (code < 0) return; // the client waits for the process itself
    }
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    stderr.push(`podrun: ${message}\n`);
    logError(g, message);
    code = 1;
  }
  reply('exit', String(code), stderr.join(''));
}

/** `exec`: the plan is made here and launched by the client, so the process is its child (runc's
 * exec process is runc's); a launch error comes back to be worded as the CLI words it. Returns
 * the exit code to send, or -1 once the client was told to wait for the process itself. */
async function remoteExec(conn: net.Socket, incoming: AsyncIterator<string[]>, req: ExecRequest, warn: (m: string) => void): Promise<number> {
  const { processFile, ...o } = req.options;
  const plan = execPlan(req.id, { ...o, root: req.globals.root, onWarning: warn, process: processFile ? readProcessFile(processFile) : undefined });
  conn.write(netstrings('2', 'launch', encodePlan(plan)));
  const answer = await incoming.next();
  if (answer.done) throw new Error('podrun-oci: the client went away');
  const [kind, ...rest] = answer.value;
  if (kind === 'error') {
    const [step, errno, index, detail] = rest;
    const errnoName = Object.entries(osConstants.errno).find(([, n]) => n === Number(errno))?.[0] ?? `errno ${errno}`;
    const e = Object.assign(new Error(`${step} ${detail}: ${errnoName}`), { code: 'ELAUNCH' as const, step, errno: Number(errno), errnoName, index: Number(index), detail });
    throw translateLaunchError(e as NativeLaunchError, plan);
  }
  if (kind !== 'pid') throw new Error('podrun-oci: unexpected answer from the client');
  if (o.pidFile) fs.writeFileSync(o.pidFile, rest[0]);
  if (o.detach) return 0;
  conn.end(netstrings('1', 'wait'));
  return -1;
}

/** Serve <root>/oci-helper.sock until idle for idleMs (or the code on disk changed). */
export async function serveOciHelper(root: string, idleMs: number): Promise<void> {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const sock = path.join(root, HELPER_SOCKET);
  // another helper already serves: leave it the socket
  const taken = await new Promise<boolean>((resolve) => {
    const c = net.connect(sock, () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (taken) return;
  fs.rmSync(sock, { force: true });
  const mine = fingerprint();
  let active = 0;
  let timer: NodeJS.Timeout | undefined;
  const server = net.createServer();
  const stop = (): void => {
    server.close();
    try {
      if (fs.statSync(sock).ino === boundIno) fs.rmSync(sock, { force: true });
    } catch {
      // gone already
    }
  };
  const idle = (): void => {
    clearTimeout(timer);
    if (active === 0) timer = setTimeout(stop, idleMs);
  };
  server.on('connection', (conn) => {
    active++;
    clearTimeout(timer);
    conn.on('error', () => undefined);
    serveOne(conn, root, mine, stop).catch(() => conn.destroy()).finally(() => { active--; idle(); });
  });
  const old = process.umask(0o177);
  await new Promise<void>((resolve, reject) => server.listen(sock, resolve).once('error', reject));
  process.umask(old);
  const boundIno = fs.statSync(sock).ino;
  fs.writeFileSync(path.join(root, 'oci-helper.pid'), `${process.pid}\n`);
  idle();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, stop); // leave no socket behind
  await new Promise<void>((resolve) => server.once('close', resolve));
  try {
    if (fs.readFileSync(path.join(root, 'oci-helper.pid'), 'utf8').trim() === String(process.pid)) fs.rmSync(path.join(root, 'oci-helper.pid'), { force: true });
  } catch {
    // gone already
  }
}

export function main(argv: string[]): void {
  const i = argv.indexOf('--root');
  const root = path.resolve(i >= 0 ? argv[i + 1] : defaultRoot('state', '/run/podrun'));
  process.chdir('/'); // not the first client's directory, which may go away
  const idleMs = Number(process.env.PODRUN_OCI_HELPER_IDLE_MS) > 0 ? Number(process.env.PODRUN_OCI_HELPER_IDLE_MS) : 30_000;
  serveOciHelper(root, idleMs).then(() => process.exit(0), () => process.exit(1));
}
