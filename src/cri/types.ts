/** CRI runtime.v1 messages as @grpc/proto-loader hands them to podrun
 * (keepCase, enums as names, int64 as strings, defaults filled in) — only
 * the fields podrun reads or writes, as src/cri/proto/runtime_v1.proto has them. */

export type StringMap = Record<string, string>;
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
/** int64 fields: decoded as decimal strings (nanosecond timestamps exceed 2^53); numbers or strings going out */
export type Int64 = string | number;

export interface Int64Value { value: Int64 }
export interface SecurityProfile { profile_type: 'RuntimeDefault' | 'Unconfined' | 'Localhost'; localhost_ref: string }
export interface SELinuxOption { user: string; role: string; type: string; level: string }
export interface IDMapping { host_id: number; container_id: number; length: number }
export interface UserNamespaceOption { mode: NamespaceMode; uids: IDMapping[]; gids: IDMapping[] }

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  target_id: string;
  userns_options: UserNamespaceOption | null;
}
export interface PortMapping { protocol: 'TCP' | 'UDP' | 'SCTP'; container_port: number; host_port: number; host_ip: string }
export interface DNSConfig { servers: string[]; searches: string[]; options: string[] }
export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }

export interface LinuxContainerResources {
  cpu_period: Int64;
  cpu_quota: Int64;
  cpu_shares: Int64;
  memory_limit_in_bytes: Int64;
  oom_score_adj: Int64;
  cpuset_cpus: string;
  cpuset_mems: string;
  hugepage_limits: Array<{ page_size: string; limit: Int64 }>;
  unified: StringMap;
  memory_swap_limit_in_bytes: Int64;
}

export interface LinuxSandboxSecurityContext {
  namespace_options: NamespaceOption | null;
  selinux_options: SELinuxOption | null;
  run_as_user: Int64Value | null;
  run_as_group: Int64Value | null;
  readonly_rootfs: boolean;
  supplemental_groups: Int64[];
  supplemental_groups_policy: 'Merge' | 'Strict';
  privileged: boolean;
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
  seccomp_profile_path: string;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata | null;
  hostname: string;
  log_directory: string;
  dns_config: DNSConfig | null;
  port_mappings: PortMapping[];
  labels: StringMap;
  annotations: StringMap;
  linux: {
    cgroup_parent: string;
    security_context: LinuxSandboxSecurityContext | null;
    sysctls: StringMap;
    overhead: LinuxContainerResources | null;
    resources: LinuxContainerResources | null;
  } | null;
}

export interface ImageSpec { image: string; annotations: StringMap; user_specified_image: string; runtime_handler: string }

export interface Mount {
  container_path: string;
  host_path: string;
  readonly: boolean;
  selinux_relabel: boolean;
  propagation: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
  uidMappings: IDMapping[];
  gidMappings: IDMapping[];
  recursive_read_only: boolean;
  image: ImageSpec | null;
}

export interface LinuxContainerSecurityContext {
  capabilities: { add_capabilities: string[]; drop_capabilities: string[]; add_ambient_capabilities: string[] } | null;
  privileged: boolean;
  namespace_options: NamespaceOption | null;
  selinux_options: SELinuxOption | null;
  run_as_user: Int64Value | null;
  run_as_group: Int64Value | null;
  run_as_username: string;
  readonly_rootfs: boolean;
  supplemental_groups: Int64[];
  supplemental_groups_policy: 'Merge' | 'Strict';
  no_new_privs: boolean;
  masked_paths: string[];
  readonly_paths: string[];
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
  apparmor_profile: string;
  seccomp_profile_path: string;
}

export interface ContainerMetadata { name: string; attempt: number }

export interface ContainerConfig {
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  command: string[];
  args: string[];
  working_dir: string;
  envs: Array<{ key: string; value: string }>;
  mounts: Mount[];
  devices: Array<{ container_path: string; host_path: string; permissions: string }>;
  labels: StringMap;
  annotations: StringMap;
  log_path: string;
  stdin: boolean;
  stdin_once: boolean;
  tty: boolean;
  linux: { resources: LinuxContainerResources | null; security_context: LinuxContainerSecurityContext | null } | null;
  CDI_devices: Array<{ name: string }>;
}

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
