/** The RuntimeDefault seccomp profile: allow by default, and fail with EPERM
 * the syscalls moby's default profile leaves out — kernel modules, kexec,
 * reboot, the mount API, namespaces, bpf, perf, keyrings, clock setting,
 * swap, accounting, raw I/O, io_uring, obsolete ones — unless the container
 * holds the capability moby's profile conditions them on. (An allow-list
 * like moby's also blocks syscalls newer than the list; this keeps working
 * binaries working and closes the known escape and hardening paths.) Pure. */
import type { OciSeccomp } from './spec-schema';

const ALWAYS_DENIED = [
  'kexec_load', 'kexec_file_load', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl', 'uselib', 'ustat',
  'sysfs', '_sysctl', 'vm86', 'vm86old', 'keyctl', 'add_key', 'request_key', 'lookup_dcookie',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
];

/** syscalls a capability unlocks (moby's "includes: caps" rules) */
const BY_CAPABILITY: Record<string, string[]> = {
  CAP_SYS_ADMIN: [
    'mount', 'umount', 'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
    'unshare', 'setns', 'quotactl', 'quotactl_fd', 'fanotify_init', 'swapon', 'swapoff', 'setdomainname', 'name_to_handle_at',
  ],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'],
  CAP_SYS_PTRACE: ['kcmp', 'process_vm_readv', 'process_vm_writev', 'userfaultfd', 'pidfd_getfd'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_NICE: ['get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
  CAP_SYSLOG: ['syslog'],
};

/** CAP_SYS_ADMIN also grants what CAP_BPF/CAP_PERFMON grant (kernels before 5.8 only knew it). */
const ALSO_BY_SYS_ADMIN = ['CAP_BPF', 'CAP_PERFMON'];

export function defaultSeccompProfile(boundingCaps: readonly string[]): OciSeccomp {
  const caps = new Set(boundingCaps);
  const denied = [...ALWAYS_DENIED];
  for (const [cap, calls] of Object.entries(BY_CAPABILITY)) {
    const granted = caps.has(cap) || (ALSO_BY_SYS_ADMIN.includes(cap) && caps.has('CAP_SYS_ADMIN'));
    if (!granted) denied.push(...calls);
  }
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: denied.sort(), action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}
