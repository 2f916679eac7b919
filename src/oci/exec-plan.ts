/** A process to start inside a running container: join its namespaces and
 * cgroup, apply the process settings; no filesystem setup. Pure. */
import { invalidField } from '../errors';
import { planCapabilities, planConsole, planRlimits, rejectUnsupportedProcess } from './build-plan';
import type { LaunchPlan, PlanNamespaceJoin } from './launch-plan';
import { buildSeccompPlan } from './seccomp';
import type { OciProcess, OciSeccomp } from './spec-schema';

export interface ExecContext {
  /** namespaces of the container's init, user first and mount last */
  joins: PlanNamespaceJoin[];
  cgroup: string;
  seccomp?: OciSeccomp;
  hostCapabilities?: bigint;
  inUserns: boolean;
  preserveFds?: number;
  consoleSocket?: string;
}

export function buildExecPlan(proc: OciProcess, ctx: ExecContext, warnings: string[] = []): LaunchPlan {
  if (!proc.args?.length) throw invalidField('process.args', 'required');
  rejectUnsupportedProcess(proc);
  return {
    newNamespaces: 0,
    joins: ctx.joins,
    cgroup: ctx.cgroup,
    rootfsPropagation: 0,
    readonlyRoot: false,
    noPivot: false,
    mounts: [],
    devices: [],
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctls: [],
    rlimits: planRlimits(proc),
    oomScoreAdj: proc.oomScoreAdj,
    capabilities: planCapabilities(proc, ctx.hostCapabilities, ctx.inUserns, warnings),
    noNewPrivileges: proc.noNewPrivileges ?? false,
    seccomp: ctx.seccomp ? buildSeccompPlan(ctx.seccomp) : undefined,
    user: { uid: proc.user.uid, gid: proc.user.gid, additionalGids: proc.user.additionalGids ?? [], umask: proc.user.umask },
    cwd: proc.cwd,
    args: proc.args,
    env: proc.env ?? [],
    preserveFds: ctx.preserveFds ?? 0,
    console: planConsole(proc, ctx.consoleSocket),
  };
}
