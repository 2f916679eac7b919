/** Run an OCI container in the foreground: validate, plan, make its cgroup,
 * launch, wait, and remove everything it made. No global state: all inputs
 * come through arguments. */
import { createCgroup, pruneEmpty, removeCgroup } from '../cgroup/lifecycle';
import { oomKills } from '../cgroup/stats';
import { isNativeLaunchError, nativeApi, type NativeApi } from '../native';
import { invalidField } from '../errors';
import { hasHooks } from './hooks';
import { enforceResources } from './enforce-resources';
import { translateLaunchError } from './launch-error';
import { encodePlan } from './plan-encode';
import { exitResult, parseSignal } from './signals';
import { prepareLaunch, type PrepareOptions, type RunSource } from './prepare';
import { removeMountsUnder } from './host-mounts';

export { validateId, type RunSource } from './prepare';

export interface RunOptions extends PrepareOptions {
  /** called once per requested-but-unenforced setting */
  onWarning?: (message: string) => void;
  native?: NativeApi;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** shell-style status: exit code, or 128 + signal number */
  status: number;
  /** the kernel OOM-killed a process of the container (memory.events oom_kill) */
  oomKilled: boolean;
}

export interface RunningContainer {
  id: string;
  pid: number;
  /** send a signal to the container's init */
  kill(signal: NodeJS.Signals | number): void;
  /** resolves when it exits and its cgroup is gone */
  wait(): Promise<RunResult>;
}

/** Start a container and return once its process has exec'd. */
export async function startContainer(source: RunSource, opts: RunOptions): Promise<RunningContainer> {
  const native = opts.native ?? nativeApi();
  const prepared = prepareLaunch(source, opts);
  const { config, cgroup, plan, warnings } = prepared;
  if (hasHooks(config.hooks, 'prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop')) {
    throw invalidField('hooks', 'hooks need the create/start split: use createContainer + startCreated, or startAttached');
  }
  const encoded = encodePlan(plan);
  for (const w of warnings) opts.onWarning?.(w);

  const created = createCgroup(cgroup);
  const cleanup = async (): Promise<void> => {
    await removeCgroup(cgroup);
    pruneEmpty(created.slice(0, -1));
    if (plan.hostMountNs && plan.rootfs) removeMountsUnder(plan.rootfs);
  };
  let launched;
  try {
    enforceResources(prepared, opts.strictLimits, (m) => opts.onWarning?.(m));
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
    kill: (sig) => native.sendSignal(pidfd, parseSignal(sig)),
    wait: () => {
      result ??= (async () => {
        try {
          const st = await native.waitExit(pidfd);
          return { ...exitResult(st.exitCode, st.signal), oomKilled: oomKills(cgroup) > 0 };
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
