/** Capability names (linux/capability.h) → bit numbers, and mask helpers. */
import { invalidField } from '../errors';

export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const byName = new Map(CAPABILITIES.map((n, i) => [n, i]));

export function capabilityNumber(name: string): number | undefined {
  return byName.get(name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
}

/** Names → bit mask; unknown names are an error naming the field. */
export function capabilityMask(names: readonly string[] | undefined, field: string): bigint {
  let mask = 0n;
  (names ?? []).forEach((n, i) => {
    const bit = capabilityNumber(n);
    if (bit === undefined) throw invalidField(`${field}[${i}]`, `unknown capability ${JSON.stringify(n)}`);
    mask |= 1n << BigInt(bit);
  });
  return mask;
}

export function capabilityNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** Parse a `CapPrm:` style hex mask from /proc/<pid>/status. */
export function parseCapMask(statusText: string, key: 'CapPrm' | 'CapEff' | 'CapBnd'): bigint | undefined {
  const m = new RegExp(`^${key}:\\s*([0-9a-f]+)$`, 'm').exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}
