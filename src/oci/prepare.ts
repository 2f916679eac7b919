/** Everything a container start needs before anything is created: the
 * validated config, the host facts, the cgroup path and the launch plan. */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { containerCgroupPath, ownCgroup2 } from '../cgroup/cgroup-path';
import { findCgroup2Mount, mountPointOf } from '../cgroup/mount';
import { PodrunError } from '../errors';
import { rootlessView } from '../util/rootless';
import { buildLaunchPlan } from './build-plan';
import { validateId } from './container-id';
import { readHostFacts } from './host';
import type { LaunchPlan } from './launch-plan';
import { MS } from './mount-options';
import type { OciConfig } from './spec-schema';
import { loadBundleConfig, validateConfig } from './validate';

/** A bundle directory, or an in-memory config with the bundle it refers to
 * (validated here unless the caller says it already was). */
export type RunSource = string | { config: OciConfig | unknown; bundle: string; validated?: boolean };

export interface PrepareOptions {
  id: string;
  noPivot?: boolean;
  preserveFds?: number;
  /** cgroup2 mount; detected from /proc/self/mountinfo when absent */
  cgroupRoot?: string;
  /** unix socket that receives the pty master when process.terminal is set */
  consoleSocket?: string;
  /** refuse limits the host cannot enforce instead of warning (--strict-limits) */
  strictLimits?: boolean;
  /** the caller's cgroup2 path, which a relative cgroupsPath is below the parent of (default: ours) */
  ownCgroup?: string;
  /** no cgroup at all (rootless podrun with no cgroup v2 subtree delegated): the container stays in its monitor's
   * cgroup, its processes are tracked by its PID namespace (which must be its own) and its limits are not enforced */
  noCgroup?: boolean;
}

export interface Prepared {
  config: OciConfig;
  bundle: string;
  cgroupMount: string;
  /** '' with noCgroup */
  cgroup: string;
  plan: LaunchPlan;
  warnings: string[];
}

export { validateId };

function resolveSource(source: RunSource): { config: OciConfig; bundle: string } {
  if (typeof source === 'string') {
    const bundle = path.resolve(source);
    return { config: loadBundleConfig(bundle), bundle };
  }
  const config = source.validated ? (source.config as OciConfig) : validateConfig(source.config);
  return { config, bundle: path.resolve(source.bundle) };
}

/** Without a cgroup, what ends a container's processes is the end of its init: the kernel kills a PID namespace's
 * processes with its pid 1 — so the namespace must be new, not joined or the host's. */
function requireOwnPidNamespace(config: OciConfig): void {
  const pid = config.linux?.namespaces?.find((n) => n.type === 'pid');
  if (!pid || pid.path) {
    throw new PodrunError('EINVALID_CONFIG', `linux.namespaces: without a cgroup, a container's processes are tracked by its PID namespace, ` +
      `so it needs one of its own (this one ${pid ? `joins ${pid.path}` : "stays in the host's"})`, { field: 'linux.namespaces' });
  }
}

export function prepareLaunch(source: RunSource, opts: PrepareOptions): Prepared {
  validateId(opts.id);
  const { config, bundle } = resolveSource(source);
  const host = readHostFacts();
  const cgroupMount = opts.cgroupRoot ?? findCgroup2Mount(host.mountinfo);
  if (!cgroupMount) throw new PodrunError('ECGROUP', 'no cgroup2 mount found in /proc/self/mountinfo (podrun needs cgroup v2)');
  let cgroup = '';
  if (opts.noCgroup) requireOwnPidNamespace(config);
  else {
    const cgroupsPath = config.linux?.cgroupsPath;
    // only a relative path depends on where we are (runc's rule): read our cgroup just then
    const own = cgroupsPath && !cgroupsPath.startsWith('/') ? (opts.ownCgroup ?? ownCgroup2(readFileSync('/proc/self/cgroup', 'utf8'))) : '/';
    cgroup = containerCgroupPath(cgroupMount, opts.id, cgroupsPath, own);
  }
  const rootless = rootlessView();
  const { plan, warnings } = buildLaunchPlan(config, {
    bundle,
    cgroup,
    hostCapabilities: host.permittedCapabilities,
    noPivot: opts.noPivot,
    preserveFds: opts.preserveFds,
    consoleSocket: opts.consoleSocket && path.resolve(opts.consoleSocket),
    ...(rootless ? { rootless: { ids: rootless.ids } } : {}),
  });
  if (plan.rootfs && plan.rootfsPropagation & MS.SHARED) plan.rootfsParent = mountPointOf(host.mountinfo, plan.rootfs);
  return { config, bundle, cgroupMount, cgroup, plan, warnings };
}
