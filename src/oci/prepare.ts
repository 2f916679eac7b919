/** Everything a container start needs before anything is created: the
 * validated config, the host facts, the cgroup path and the launch plan. */
import path from 'node:path';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { containerCgroupPath, ownCgroup2 } from '../cgroup/cgroup-path';
import { podrunSlice } from '../cgroup/delegation';
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

/** Rootless (podrun-oci under rootless podman, say), a cgroup only where one is delegated to us: without a
 * cgroupsPath, podrun.slice/<id> below the delegated subtree; a cgroupsPath whose nearest existing cgroup we may not
 * write is not ours to make. Else '': no cgroup, as runc's rootless cgroup manager skips what it may not do — its
 * processes then end with its PID namespace, and any limit asked is said not enforced (enforceResources). */
function rootlessCgroup(mount: string, id: string, cgroupsPath: string | undefined, own: string): string {
  if (!cgroupsPath) {
    const slice = podrunSlice();
    return slice === null ? '' : path.join(mount, slice, id);
  }
  const cgroup = containerCgroupPath(mount, id, cgroupsPath, own);
  let existing = cgroup;
  while (!existsSync(existing) && existing.length > mount.length) existing = path.dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
    return cgroup;
  } catch {
    return '';
  }
}

export function prepareLaunch(source: RunSource, opts: PrepareOptions): Prepared {
  validateId(opts.id);
  const { config, bundle } = resolveSource(source);
  const host = readHostFacts();
  const cgroupMount = opts.cgroupRoot ?? findCgroup2Mount(host.mountinfo);
  if (!cgroupMount) throw new PodrunError('ECGROUP', 'no cgroup2 mount found in /proc/self/mountinfo (podrun needs cgroup v2)');
  const rootless = rootlessView();
  let cgroup = '';
  if (!opts.noCgroup) {
    const cgroupsPath = config.linux?.cgroupsPath;
    // only a relative path depends on where we are (runc's rule): read our cgroup just then
    const own = cgroupsPath && !cgroupsPath.startsWith('/') ? (opts.ownCgroup ?? ownCgroup2(readFileSync('/proc/self/cgroup', 'utf8'))) : '/';
    cgroup = rootless ? rootlessCgroup(cgroupMount, opts.id, cgroupsPath, own) : containerCgroupPath(cgroupMount, opts.id, cgroupsPath, own);
  }
  if (!cgroup) requireOwnPidNamespace(config);
  const { plan, warnings } = buildLaunchPlan(config, {
    bundle,
    cgroup,
    hostCapabilities: host.permittedCapabilities,
    noPivot: opts.noPivot,
    preserveFds: opts.preserveFds,
    consoleSocket: opts.consoleSocket && path.resolve(opts.consoleSocket),
    ...(rootless ? { rootless: { ids: rootless.ids, cgroupMount } } : {}),
  });
  if (plan.rootfs && plan.rootfsPropagation & MS.SHARED) plan.rootfsParent = mountPointOf(host.mountinfo, plan.rootfs);
  return { config, bundle, cgroupMount, cgroup, plan, warnings };
}
