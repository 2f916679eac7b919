/** `exec`: start another process in a running container. The CLI (or the
 * library caller) is its parent; with detach it is left to run on its own. */
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PodrunError } from '../../errors';
import { isNativeLaunchError, nativeApi, type NativeApi } from '../../native';
import { buildExecPlan } from '../exec-plan';
import { readHostFacts } from '../host';
import { translateLaunchError } from '../launch-error';
import { CLONE, type LaunchPlan, type PlanNamespaceJoin } from '../launch-plan';
import { encodePlan } from '../plan-encode';
import { exitResult } from '../signals';
import type { OciProcess } from '../spec-schema';
import { loadBundleConfig, validateConfig } from '../validate';
import { containerStatus } from './container-status';
import { requireRecord } from './state-store';

/** /proc/<pid>/ns names, user first and mnt last (paths resolve before we leave our mount ns) */
const NS_ORDER: [string, number][] = [
  ['user', CLONE.NEWUSER], ['ipc', CLONE.NEWIPC], ['uts', CLONE.NEWUTS], ['net', CLONE.NEWNET],
  ['pid', CLONE.NEWPID], ['cgroup', CLONE.NEWCGROUP], ['time', CLONE.NEWTIME], ['mnt', CLONE.NEWNS],
];

/** The namespaces of pid that differ from ours. */
export function namespacesOf(pid: number): PlanNamespaceJoin[] {
  const joins: PlanNamespaceJoin[] = [];
  for (const [name, type] of NS_ORDER) {
    const path = `/proc/${pid}/ns/${name}`;
    let theirs: string;
    try {
      theirs = readlinkSync(path);
    } catch {
      continue; // kernel without this namespace kind
    }
    if (theirs !== readlinkSync(`/proc/self/ns/${name}`)) joins.push({ type, path, field: `container ${name} namespace` });
  }
  return joins;
}

export interface ExecOptions {
  root: string;
  /** what the process spec asks that is done differently (said, never silent) */
  onWarning?: (message: string) => void;
  /** a runtime-spec process document; defaults to the container's process with args replaced */
  process?: unknown;
  args?: string[];
  env?: string[];
  /** env adds only the variables the container does not set already */
  envDefaults?: boolean;
  cwd?: string;
  user?: { uid: number; gid: number };
  additionalGids?: number[];
  noNewPrivileges?: boolean;
  addCapabilities?: string[];
  preserveFds?: number;
  /** podrun extension: an open fd that becomes the process's stdin, stdout and stderr (hooks, probes) */
  stdioFd?: number;
  /** podrun extension: an open fd that becomes its stdin (exec without -i: /dev/null) */
  stdinFd?: number;
  /** podrun extension: open fds that become its stdout and stderr (CRI ExecSync keeps them apart) */
  stdoutFd?: number;
  stderrFd?: number;
  detach?: boolean;
  pidFile?: string;
  /** allocate a pty (process.terminal) and send its master here */
  tty?: boolean;
  consoleSocket?: string;
  native?: NativeApi;
}

export interface ExecResult {
  pid: number;
  /** absent with detach */
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  status?: number;
}

function execProcess(base: OciProcess, o: ExecOptions): OciProcess {
  const proc: OciProcess = { ...base, user: { ...base.user }, terminal: o.tty ?? (o.process !== undefined ? base.terminal : false) };
  if (o.args?.length) proc.args = o.args;
  if (o.env?.length) {
    const has = new Set((proc.env ?? []).map((e) => e.split('=')[0]));
    proc.env = [...(proc.env ?? []), ...(o.envDefaults ? o.env.filter((e) => !has.has(e.split('=')[0])) : o.env)];
  }
  if (o.cwd) proc.cwd = o.cwd;
  if (o.user) proc.user = { ...proc.user, uid: o.user.uid, gid: o.user.gid };
  if (o.additionalGids) proc.user.additionalGids = o.additionalGids;
  if (o.noNewPrivileges) proc.noNewPrivileges = true;
  if (o.addCapabilities?.length) {
    const caps = { ...(proc.capabilities ?? {}) };
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable'] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...o.addCapabilities])];
    proc.capabilities = caps;
  }
  return proc;
}

/** The launch plan of a process to run in a running container. */
export function execPlan(id: string, o: ExecOptions): LaunchPlan {
  const rec = requireRecord(o.root, id);
  const { status } = containerStatus(o.root, rec);
  if (status !== 'running') throw new PodrunError('EINVALID_CONFIG', `cannot exec in a ${status} container`);
  const config = loadBundleConfig(rec.bundle);
  const base = o.process !== undefined
    ? validateConfig({ ociVersion: config.ociVersion, root: { path: '/' }, process: o.process }, 'process.json').process!
    : config.process;
  if (!base) throw new PodrunError('EINVALID_CONFIG', `container ${id} has no process in its config; pass --process`);
  const proc = execProcess(base, o);
  if (!proc.args?.length) throw new PodrunError('EINVALID_CONFIG', 'exec needs a command');
  const joins = namespacesOf(rec.pid!);
  const warnings: string[] = [];
  const plan = buildExecPlan(proc, {
    joins,
    cgroup: rec.cgroup,
    seccomp: config.linux?.seccomp,
    hostCapabilities: readHostFacts().permittedCapabilities,
    inUserns: joins.some((j) => j.type === CLONE.NEWUSER),
    preserveFds: o.preserveFds,
    consoleSocket: o.consoleSocket && resolve(o.consoleSocket),
  }, warnings);
  for (const w of warnings) o.onWarning?.(w);
  if (o.stdioFd !== undefined) plan.stdioFd = o.stdioFd;
  if (o.stdinFd !== undefined) plan.stdinFd = o.stdinFd;
  if (o.stdoutFd !== undefined) plan.stdoutFd = o.stdoutFd;
  if (o.stderrFd !== undefined) plan.stderrFd = o.stderrFd;
  return plan;
}

export async function execInContainer(id: string, o: ExecOptions): Promise<ExecResult> {
  const native = o.native ?? nativeApi();
  const plan = execPlan(id, o);
  let launched;
  try {
    launched = native.launch(encodePlan(plan));
  } catch (e) {
    throw isNativeLaunchError(e) ? translateLaunchError(e, plan) : e;
  }
  if (o.pidFile) writeFileSync(o.pidFile, String(launched.pid));
  if (o.detach) {
    native.closeFd(launched.pidfd);
    return { pid: launched.pid };
  }
  try {
    const st = await native.waitExit(launched.pidfd);
    return { pid: launched.pid, ...exitResult(st.exitCode, st.signal) };
  } finally {
    native.closeFd(launched.pidfd);
  }
}

export function readProcessFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PodrunError('EINVALID_CONFIG', `${file}: ${(e as Error).message}`, { cause: e });
  }
}
