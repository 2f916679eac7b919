/** `create`: everything in place, the process stopped before exec under a
 * detached podrun-monitor; rolled back completely on any failure. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cgroupDirsToCreate, createCgroup, pruneEmpty, removeCgroup } from '../../cgroup/lifecycle';
import { PodrunError } from '../../errors';
import { enforceResources } from '../enforce-resources';
import { hasHooks, runHooks } from '../hooks';
import { translateLaunchError } from '../launch-error';
import { encodePlan } from '../plan-encode';
import { prepareLaunch, type PrepareOptions, type RunSource } from '../prepare';
import { processStartTime } from '../../util/process-identity';
import { askMonitor, createInSharedMonitor, spawnMonitor, type MonitorLauncher, type MonitorReply, type RestartPolicy, type SharedMonitor } from './monitor-client';
import { type ContainerRecord, hookState, removeContainerDir, writeFastRecord, reserveContainerDir, writeRecord } from './state-store';
import { VOLATILE, writeFileAtomic } from '../../util/atomic-file';
import type { LogRotation } from './container-log';
import { removeMountsUnder } from '../host-mounts';

export interface CreateOptions extends PrepareOptions {
  root: string;
  pidFile?: string;
  /** podrun extension: keep the monitor as the container's parent, recording its exit */
  keep?: boolean;
  /** podrun extension: write stdout/stderr to this file in the CRI log format (implies keep) */
  containerLog?: string;
  /** rotate containerLog as kubelet does (default: never) */
  logRotation?: LogRotation;
  /** the monitor launches it again when it exits (implies keep): kubelet's restartPolicy */
  restart?: RestartPolicy;
  /** launched by this running podrun-monitor (a pod's) instead of one of its own; implies keep, no create hooks.
   * A process.terminal's master then goes to that monitor (consoleSocket is not used). */
  sharedMonitor?: SharedMonitor;
  /** starts the container's own monitor (default: as our child; the OCI helper: in its client) */
  launcher?: MonitorLauncher;
  /** with a shared monitor: its stdin takes what `attach` sends ('once': until the first attach ends) */
  stdin?: 'open' | 'once';
  onWarning?: (message: string) => void;
}

export async function createContainer(source: RunSource, opts: CreateOptions): Promise<ContainerRecord> {
  const prepared = prepareLaunch(source, opts);
  const { config, bundle, cgroup, plan } = prepared;
  const warnings = [...prepared.warnings];
  plan.waitStart = true;
  plan.hookPause = hasHooks(config.hooks, 'prestart', 'createRuntime', 'createContainer');
  if (plan.hookPause && opts.sharedMonitor) throw new PodrunError('EINVALID_CONFIG', 'hooks: prestart/createRuntime/createContainer hooks need a monitor of their own', { field: 'hooks' });
  const encoded = encodePlan(plan);

  const dir = reserveContainerDir(opts.root, opts.id);
  let created: string[] = [];
  try {
    const rec: ContainerRecord = {
      ociVersion: config.ociVersion,
      id: opts.id,
      bundle,
      rootfs: plan.rootfs ?? '',
      annotations: config.annotations ?? {},
      created: new Date().toISOString(),
      cgroup,
      cgroupCreated: cgroup ? cgroupDirsToCreate(cgroup) : [],
      warnings,
      hooks: config.hooks,
      ...(plan.hostMountNs && plan.rootfs ? { hostMounts: plan.rootfs } : {}),
    };
    writeRecord(opts.root, rec); // "creating", before the cgroup exists: delete/gc can clean up if we die from here on
    if (cgroup) created = rec.cgroupCreated = createCgroup(cgroup);
    enforceResources(prepared, opts.strictLimits, (m) => warnings.push(m));
    for (const w of warnings) opts.onWarning?.(w);
    writeRecord(opts.root, rec);
    writeFileAtomic(path.join(dir, 'plan.bin'), encoded, 0o600, VOLATILE);
    const fresh = opts.restart?.freshRootfs;
    if (fresh) {
      if ([fresh.target, fresh.upper, fresh.work, fresh.options].some((l) => !l || l.includes('\n'))) throw new PodrunError('EINVALID_CONFIG', 'restart.freshRootfs: empty or multi-line path');
      writeFileAtomic(path.join(dir, 'rootfs-reset'), `${fresh.target}\n${fresh.upper}\n${fresh.work}\n${fresh.options}\n`, 0o600, VOLATILE); // read by the monitor at each restart
    }
    // before pivot_root: prestart and createRuntime in our namespaces, createContainer in the container's
    let hookError: unknown;
    const onHooks = async (pid: number): Promise<void> => {
      const state = hookState(rec, 'creating', pid);
      try {
        for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) runHooks(kind, config.hooks, state);
      } catch (e) {
        hookError = e;
      }
      await askMonitor(dir, hookError ? `hooks-failed\t${(hookError as Error).message}` : 'hooks-done');
    };
    const containerLog = opts.containerLog && path.resolve(opts.containerLog);
    let reply: MonitorReply;
    let monitorPid: number;
    if (opts.sharedMonitor) {
      if (opts.preserveFds) throw new PodrunError('EINVALID_CONFIG', 'preserve-fds: not with a shared monitor');
      reply = await createInSharedMonitor(opts.sharedMonitor, dir, { containerLog, logRotation: opts.logRotation, restart: opts.restart, stdin: opts.stdin });
      monitorPid = opts.sharedMonitor.pid;
      rec.sharedMonitor = true;
    } else {
      ({ reply, monitorPid } = await spawnMonitor(dir, { preserveFds: opts.preserveFds ?? 0, keep: opts.keep, containerLog, logRotation: opts.logRotation, restart: opts.restart }, onHooks, opts.launcher));
    }
    if (hookError) throw hookError;
    if (!reply.ok) throw reply.error ? translateLaunchError(reply.error, plan) : new PodrunError('ELAUNCH', 'podrun-monitor failed');
    rec.pid = Number(reply.rest);
    rec.pidStartTime = processStartTime(rec.pid);
    rec.monitorPid = monitorPid;
    rec.monitorStartTime = opts.sharedMonitor?.startTime ?? processStartTime(monitorPid);
    writeRecord(opts.root, rec);
    writeFastRecord(opts.root, rec);
    if (opts.pidFile) writeFileSync(opts.pidFile, String(rec.pid));
    return rec;
  } catch (e) {
    if (cgroup) await removeCgroup(cgroup).catch(() => undefined);
    pruneEmpty(created.slice(0, -1));
    if (plan.hostMountNs && plan.rootfs) removeMountsUnder(plan.rootfs);
    removeContainerDir(opts.root, opts.id);
    throw e;
  }
}
