/** Run an OCI container in the foreground: validate, plan, make its cgroup,
 * launch, wait, and remove everything it made. No global state: all inputs
 * come through arguments. */
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { containerCgroupPath } from '../cgroup/cgroup-path';
import { createCgroup, pruneEmpty, removeCgroup } from '../cgroup/lifecycle';
import { findCgroup2Mount, mountPointOf } from '../cgroup/mount';
import { PodrunError, invalidField } from '../errors';
import { isNativeLaunchError, nativeApi, type NativeApi } from '../native';
import { buildLaunchPlan } from './build-plan';
import { readHostFacts } from './host';
import { translateLaunchError } from './launch-error';
import { MS } from './mount-options';
import { encodePlan } from './plan-encode';
import type { OciConfig } from './spec-schema';
import { loadBundleConfig, validateConfig } from './validate';

export interface RunOptions {
  /** container id (runc's rules: letters, digits, `_ . -`) */
  id: string;
  noPivot?: boolean;
  /** extra fds (3, 4, …) passed to the container, like runc --preserve-fds */
  preserveFds?: number;
  /** cgroup2 mount; detected from /proc/self/mountinfo when absent */
  cgroupRoot?: string;
  /** called once per requested-but-unenforced setting */
  onWarning?: (message: string) => void;
  native?: NativeApi;
}

/** A bundle directory, or an in-memory config with the bundle it refers to. */
export type RunSource = string | { config: OciConfig | unknown; bundle: string };

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** shell-style status: exit code, or 128 + signal number */
  status: number;
}

export interface RunningContainer {
  id: string;
  pid: number;
  /** send a signal to the container's init */
  kill(signal: NodeJS.Signals | number): void;
  /** resolves when it exits and its cgroup is gone */
  wait(): Promise<RunResult>;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,1023}$/;

export function validateId(id: string): void {
  if (!ID_RE.test(id)) throw invalidField('id', `${JSON.stringify(id)} is not a valid container id (letters, digits, "_", ".", "-")`);
}

function resolveSource(source: RunSource): { config: OciConfig; bundle: string } {
  if (typeof source === 'string') {
    const bundle = path.resolve(source);
    return { config: loadBundleConfig(bundle), bundle };
  }
  return { config: validateConfig(source.config), bundle: path.resolve(source.bundle) };
}

function signalNumber(sig: NodeJS.Signals | number): number {
  if (typeof sig === 'number') return sig;
  const n = osConstants.signals[sig];
  if (n === undefined) throw new PodrunError('EINVALID_CONFIG', `unknown signal ${sig}`);
  return n;
}

function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/** Start a container and return once its process has exec'd. */
export async function startContainer(source: RunSource, opts: RunOptions): Promise<RunningContainer> {
  validateId(opts.id);
  const native = opts.native ?? nativeApi();
  const { config, bundle } = resolveSource(source);
  const host = readHostFacts();
  const cgroupMount = opts.cgroupRoot ?? findCgroup2Mount(host.mountinfo);
  if (!cgroupMount) throw new PodrunError('ECGROUP', 'no cgroup2 mount found in /proc/self/mountinfo (podrun needs cgroup v2)');
  const cgroup = containerCgroupPath(cgroupMount, opts.id, config.linux?.cgroupsPath);

  const { plan, warnings } = buildLaunchPlan(config, {
    bundle,
    cgroup,
    hostCapabilities: host.permittedCapabilities,
    noPivot: opts.noPivot,
    preserveFds: opts.preserveFds,
  });
  if (plan.rootfs && plan.rootfsPropagation & MS.SHARED) plan.rootfsParent = mountPointOf(host.mountinfo, plan.rootfs);
  const encoded = encodePlan(plan);
  for (const w of warnings) opts.onWarning?.(w);

  const created = createCgroup(cgroup);
  const cleanup = async (): Promise<void> => {
    await removeCgroup(cgroup);
    pruneEmpty(created.slice(0, -1));
  };
  let launched;
  try {
    launched = native.launch(encoded);
  } catch (e) {
    await cleanup();
    throw isNativeLaunchError(e) ? translateLaunchError(e, plan) : e;
  }
  const { pid, pidfd } = launched;
  let result: Promise<RunResult> | undefined;
  return {
    id: opts.id,
    pid,
    kill: (sig) => native.sendSignal(pidfd, signalNumber(sig)),
    wait: () => {
      result ??= (async () => {
        try {
          const st = await native.waitExit(pidfd);
          const signal = st.signal === null ? null : signalName(st.signal);
          return { exitCode: st.exitCode, signal, status: st.exitCode ?? 128 + (st.signal ?? 0) };
        } finally {
          native.closeFd(pidfd);
          await cleanup();
        }
      })();
      return result;
    },
  };
}

/** Run a container to completion (`runc run` without --detach). */
export async function run(source: RunSource, opts: RunOptions): Promise<RunResult> {
  return (await startContainer(source, opts)).wait();
}
