/** Native launch failure → PodrunError naming the config field. */
import { PodrunError } from '../errors';
import type { NativeLaunchError } from '../native';
import type { LaunchPlan } from './launch-plan';

const EPERM = 1;
const EACCES = 13;

function fieldOf(e: NativeLaunchError, plan: LaunchPlan | undefined): string | undefined {
  const i = e.index;
  switch (e.step) {
    case 'mount':
    case 'mountpoint':
      return plan?.mounts[i]?.field;
    case 'device':
      return plan?.devices[i]?.field;
    case 'rlimit':
      return plan?.rlimits[i]?.field;
    case 'sysctl':
      return plan?.sysctls[i]?.field;
    case 'readonly path':
      return i >= 0 ? `linux.readonlyPaths[${i}]` : undefined;
    case 'masked path':
      return i >= 0 ? `linux.maskedPaths[${i}]` : undefined;
    case 'setns':
    case 'open namespace':
      return plan?.joins[i]?.field;
    case 'seccomp compile':
      return i >= 0 ? 'linux.seccomp.syscalls' : 'linux.seccomp';
    case 'exec':
      return 'process.args[0]';
    case 'chdir':
      return 'process.cwd';
    case 'sethostname':
      return 'hostname';
    case 'oom_score_adj':
      return 'process.oomScoreAdj';
    case 'capabilities':
      return 'process.capabilities';
    case 'setuid':
      return 'process.user.uid';
    case 'setgid':
      return 'process.user.gid';
    case 'setgroups':
      return 'process.user.additionalGids';
    case 'user namespace mapping':
      return e.detail === 'gidMappings' ? 'linux.gidMappings' : 'linux.uidMappings';
    case 'open cgroup':
    case 'clone3':
      return plan?.cgroup ? 'linux.cgroupsPath' : undefined;
    default:
      return undefined;
  }
}

/** Why this host refused, where the cause is known (no CAP_SYS_RESOURCE here). */
function hint(e: NativeLaunchError, plan: LaunchPlan | undefined): string {
  if (e.step === 'rlimit' && e.errno === EPERM) {
    return ` (hard limit ${plan?.rlimits[e.index]?.hard} is above podrun's own, and raising it needs CAP_SYS_RESOURCE, which podrun does not hold here)`;
  }
  if (e.step === 'oom_score_adj' && e.errno === EACCES) {
    return ' (lowering oom_score_adj needs CAP_SYS_RESOURCE, which podrun does not hold here)';
  }
  return '';
}

/** plan: the one launched, when at hand, to name the offending item */
export function translateLaunchError(e: NativeLaunchError, plan?: LaunchPlan): PodrunError {
  const field = fieldOf(e, plan);
  const what = e.step === 'exec' ? JSON.stringify(e.detail) : e.step === 'rlimit' ? plan?.rlimits[e.index]?.type : e.detail;
  const msg = `${e.step}${what ? ` ${what}` : ''}: ${e.errnoName}${hint(e, plan)}${field ? ` [${field}]` : ''}`;
  return new PodrunError('ELAUNCH', msg, { cause: e, field, step: e.step, errno: e.errnoName });
}
