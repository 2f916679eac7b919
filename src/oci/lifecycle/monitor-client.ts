/** Spawning podrun-monitor for a created container, and talking to it. */
import { spawnChild } from '../../native/spawn';
import { closeSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PodrunError } from '../../errors';
import { monitorPath, type NativeLaunchError } from '../../native';
import type { LogRotation } from './container-log';

export interface MonitorReply {
  ok: boolean;
  /** "ok <rest>" */
  rest?: string;
  error?: NativeLaunchError;
}

const errnoNames = new Map(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** "err\tstep\terrno\tindex\tdetail" → an error shaped like the addon's */
export function parseReply(line: string): MonitorReply {
  if (line === 'ok' || line.startsWith('ok ')) return { ok: true, rest: line.slice(3) };
  const [tag, step = 'unknown', errno = '0', index = '-1', ...detail] = line.split('\t');
  if (tag !== 'err') return { ok: false, error: Object.assign(new Error(`monitor: unexpected reply ${JSON.stringify(line)}`), { code: 'ELAUNCH', step: 'sync', errno: 71, errnoName: 'EPROTO', index: -1, detail: '' }) as NativeLaunchError };
  const n = Number(errno);
  const e = new Error(`${step} ${detail.join('\t')}: ${errnoNames.get(n) ?? n}`) as NativeLaunchError;
  return { ok: false, error: Object.assign(e, { code: 'ELAUNCH' as const, step, errno: n, errnoName: errnoNames.get(n) ?? `errno ${n}`, index: Number(index), detail: detail.join('\t') }) };
}

/** Lines from a stream, one at a time; undefined at EOF. */
function lineReader(stream: Readable): () => Promise<string | undefined> {
  let buf = '';
  let ended = false;
  let wake: (() => void) | undefined;
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    wake?.();
  });
  stream.on('end', () => {
    ended = true;
    wake?.();
  });
  stream.on('error', () => {
    ended = true;
    wake?.();
  });
  return async () => {
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      if (ended) {
        const rest = buf;
        buf = "";
        return rest || undefined;
      }
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  };
}

/** Start `podrun-monitor container DIR FD`, detached, with our stdio (and
 * preserveFds extra fds) for the container; resolve with its final report.
 * "hooks <pid>" reports in between call onHooks, which must answer the
 * monitor ("hooks-done" / "hooks-failed") before it goes on. */
export interface MonitorOptions {
  preserveFds: number;
  /** stay the container's parent and record its exit (podrun-managed containers) */
  keep?: boolean;
  /** CRI-format log of the container's stdout/stderr (implies keep) */
  containerLog?: string;
  /** rotate containerLog (default: never, as runc's callers expect a log they rotate themselves) */
  logRotation?: LogRotation;
  restart?: RestartPolicy;
  /** Kubernetes' stdin (open) / stdinOnce (once): its stdin takes what `attach` sends (shared monitor only) */
  stdin?: 'open' | 'once';
}

/** When the monitor launches the container again, and its first back-off (kubelet: 10 s, doubling, ≤ 5 min). */
export interface RestartPolicy {
  when: 'always' | 'on-failure';
  backoffMs?: number;
  /** an overlay root filesystem the monitor mounts again with an empty upper dir before each restart */
  freshRootfs?: OverlayMount;
}

export interface OverlayMount {
  target: string;
  upper: string;
  work: string;
  /** the overlay mount options (lowerdir=…,upperdir=…,workdir=…) */
  options: string;
}

/** Starts `podrun-monitor ARGS` with our stdio and fds 3…reportFd-1, its
 * report on reportFd. Local: a child of ours. The OCI helper's launches it in
 * its client (src/cli/oci-helper.ts), so the container stays below the
 * caller's subreaper as runc's would. */
export type MonitorLauncher = (exe: string, args: string[], reportFd: number) => Promise<LaunchedMonitor>;

export interface LaunchedMonitor {
  pid: number;
  /** what the monitor writes on its report fd */
  report: Readable;
  /** its exit code, once it is known to have exited (local: always; remote: if it died before reporting) */
  exited: Promise<number | null>;
  /** stop listening: the monitor goes on without us */
  release(): void;
}

export const launchLocally: MonitorLauncher = async (exe, args, reportFd) => {
  const stdio: ('inherit' | 'pipe' | number)[] = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < reportFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  const child = spawnChild(exe, args, { detached: true, stdio });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.once('error', () => undefined);
  const report = child.stdio[reportFd] as Readable;
  return { pid: child.pid ?? 0, report, exited, release: () => { report.destroy(); child.unref(); } };
};

/** podrun-monitor's arguments for one container (`container` mode). */
export function monitorArgs(dir: string, opts: MonitorOptions): { args: string[]; reportFd: number } {
  const reportFd = 3 + opts.preserveFds;
  const args = ['container', dir, String(reportFd)];
  if (opts.keep) args.push('--keep');
  if (opts.containerLog) args.push('--log', opts.containerLog);
  if (opts.containerLog && opts.logRotation) args.push('--log-max-size', String(opts.logRotation.maxSize), '--log-max-files', String(opts.logRotation.maxFiles));
  if (opts.restart) args.push('--restart', opts.restart.when, '--backoff-ms', String(Math.max(1, Math.round(opts.restart.backoffMs ?? 10_000))));
  return { args, reportFd };
}

export async function spawnMonitor(
  dir: string,
  opts: MonitorOptions,
  onHooks?: (pid: number) => Promise<void>,
  launcher: MonitorLauncher = launchLocally,
): Promise<{ reply: MonitorReply; monitorPid: number }> {
  const { args, reportFd } = monitorArgs(dir, opts);
  const child = await launcher(monitorPath(), args, reportFd);
  const next = lineReader(child.report);
  let line = await next();
  while (line?.startsWith('hooks ')) {
    await onHooks?.(Number(line.slice(6)));
    line = await next();
  }
  child.release();
  if (line === undefined) {
    const code = await child.exited;
    throw new PodrunError('ELAUNCH', `podrun-monitor exited (${code}) without reporting on ${path.basename(dir)}`);
  }
  return { reply: parseReply(line), monitorPid: child.pid };
}

/** A pod's shared podrun-monitor (`podrun-monitor pod`): one process parents
 * every container of the pod. */
export interface SharedMonitor {
  /** the directory holding its monitor.sock */
  dir: string;
  pid: number;
  startTime?: number;
}

/** Start a pod's podrun-monitor serving <dir>/monitor.sock, detached, in the
 * cgroup directory given; resolves with its pid once it listens. */
export async function spawnSharedMonitor(dir: string, cgroup?: string): Promise<number> {
  const args = ['pod', dir, '3', ...(cgroup ? ['--cgroup', cgroup] : [])];
  const child = spawnChild(monitorPath(), args, { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.once('error', () => undefined);
  const report = child.stdio[3] as Readable;
  const line = await lineReader(report)();
  report.destroy();
  child.unref();
  if (line === undefined) throw new PodrunError('ELAUNCH', `podrun-monitor exited (${await exited}) without reporting on ${dir}`);
  const reply = parseReply(line);
  if (!reply.ok) throw new PodrunError('ELAUNCH', `podrun-monitor for ${dir}: ${reply.error?.message ?? line}`);
  return Number(reply.rest); // with a cgroup, a child of the process we started
}

/** Have a shared monitor launch <ctrDir>/plan.bin stopped before exec (as
 * spawnMonitor does, kept, without hooks). */
export function createInSharedMonitor(monitor: SharedMonitor, ctrDir: string, opts: Omit<MonitorOptions, 'preserveFds' | 'keep'>): Promise<MonitorReply> {
  const restart = opts.restart ? `${opts.restart.when}\t${Math.max(1, Math.round(opts.restart.backoffMs ?? 10_000))}` : 'never\t10000';
  const stdin = opts.stdin === 'once' ? 'stdin-once' : opts.stdin === 'open' ? 'stdin' : '-';
  const rotation = opts.logRotation ? `${opts.logRotation.maxSize}\t${opts.logRotation.maxFiles}` : '0\t0';
  return askMonitor(monitor.dir, `create\t${ctrDir}\t${opts.containerLog ?? '-'}\t${restart}\t${stdin}\t${rotation}`);
}

/** Run a podrun-monitor tool that works on our terminal (`attach`, `run
 * --terminal`): our stdin and stdout are its; resolves with its exit status
 * (128 + signal when killed) and what it wrote on stderr. */
export function runMonitorTool(args: string[]): Promise<{ code: number; stderr: string; pid: number }> {
  const child = spawnChild(monitorPath(), args, { stdio: ['inherit', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, signal) => resolve({ code: c ?? 128 + (signal ? osConstants.signals[signal] : 0), stderr, pid: child.pid ?? 0 }));
  });
}

/** One request on <dir>/monitor.sock; the reply line. */
export function askMonitor(dir: string, request: string, timeoutMs = 30_000): Promise<MonitorReply> {
  // through a directory fd: the socket path itself may exceed the 108-byte limit
  let dirFd: number;
  try {
    dirFd = openSync(dir, 'r');
  } catch (e) {
    return Promise.reject(new PodrunError('ENOTFOUND', `${dir}: ${(e as Error).message}`, { cause: e }));
  }
  return new Promise<MonitorReply>((resolve, reject) => {
    const sock = connect(`/proc/self/fd/${dirFd}/monitor.sock`);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new PodrunError('EINTERNAL', `monitor did not answer "${request}" within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${request}\n`));
    sock.on('data', (d) => (buf += d.toString()));
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(parseReply(buf.trim()));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new PodrunError('ENOTFOUND', `the monitor of this container is gone (${e.code ?? e.message})`, { cause: e }));
    });
  }).finally(() => closeSync(dirFd));
}
