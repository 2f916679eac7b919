/** The launch plan: a flat, fully resolved description of one process
 * start that native/launch/launch.c applies without parsing anything. Each item
 * keeps the JSON path it came from so native failures can name the field. */
import type { DeviceRule } from './device-rules';
import type { SeccompPlan } from './seccomp';

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export interface PlanMount {
  source: string;
  destination: string;
  type: string;
  data: string;
  flags: number;
  propagation: number;
  bind: boolean;
  /** a bind whose real source is this path resolved beneath `source` (x-podrun.subpath) */
  subpath?: string;
  /** an idmapped bind (mounts[].uidMappings): owners shifted by the maps of the user namespace the container joins */
  idmap?: { uidMap: string; gidMap: string };
  /** recursive attributes ("rro"…): mount_setattr(AT_RECURSIVE)'s attr_set and attr_clr, on the mount and all below */
  recursive?: { set: number; clear: number };
  field: string;
}

export interface PlanDevice {
  path: string;
  /** S_IFCHR / S_IFBLK / S_IFIFO */
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  /** bind-mount the host node instead of mknod (user namespaces) */
  bind: boolean;
  field: string;
}

export interface PlanNamespaceJoin {
  type: number;
  path: string;
  field: string;
}

export interface PlanRlimit {
  /** RLIMIT_* name, for messages */
  type: string;
  resource: number;
  soft: bigint;
  hard: bigint;
  field: string;
}

export interface PlanCapabilities {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface LaunchPlan {
  newNamespaces: number;
  joins: PlanNamespaceJoin[];
  uidMap?: string;
  gidMap?: string;
  /** idmapped binds use the joined user namespace: its maps must be these (checked once joined) */
  idmapExpect?: { uidMap: string; gidMap: string };
  /** absolute cgroup v2 directory to clone into */
  cgroup?: string;
  /** absent: no filesystem setup (the process keeps the launcher's view) */
  rootfs?: string;
  /** mount point holding the rootfs, made private before pivot_root */
  rootfsParent?: string;
  rootfsPropagation: number;
  readonlyRoot: boolean;
  noPivot: boolean;
  mounts: PlanMount[];
  devices: PlanDevice[];
  symlinks: { target: string; path: string }[];
  maskedPaths: string[];
  readonlyPaths: string[];
  hostname?: string;
  domainname?: string;
  sysctls: { path: string; value: string; field: string }[];
  rlimits: PlanRlimit[];
  oomScoreAdj?: number;
  capabilities?: PlanCapabilities;
  noNewPrivileges: boolean;
  seccomp?: SeccompPlan;
  user?: { uid: number; gid: number; additionalGids: number[]; umask?: number };
  cwd?: string;
  args: string[];
  env: string[];
  preserveFds: number;
  /** an fd of the launcher that becomes the process's stdin, stdout and stderr */
  stdioFd?: number;
  /** an fd of the launcher that becomes the process's stdin (after stdioFd) */
  stdinFd?: number;
  /** fds of the launcher that become its stdout and stderr (after stdioFd) */
  stdoutFd?: number;
  stderrFd?: number;
  /** stop before exec until started (podrun-monitor only) */
  waitStart?: boolean;
  /** device-cgroup rules, attached as BPF to the cgroup before clone */
  deviceRules?: DeviceRule[];
  /** stop before pivot_root so the runtime can run the create hooks */
  hookPause?: boolean;
  /** no mount namespace of its own: mounts are made in the caller's, the root is entered by chroot */
  hostMountNs?: boolean;
  /** process.terminal: the pty master is sent to this unix socket */
  console?: { socket: string; rows: number; cols: number };
}
