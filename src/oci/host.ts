/** Facts about the host the plan builder needs, read once per call (edge).
 * Synchronous: two small procfs reads cost less than two thread-pool hops. */
import { readFileSync } from 'node:fs';
import { nativeFs } from '../native';
import { CAPABILITIES, capabilityNames, parseCapMask } from './capabilities';

export interface HostFacts {
  mountinfo: string;
  permittedCapabilities?: bigint;
}

export function readHostFacts(): HostFacts {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const status = readFileSync('/proc/self/status', 'utf8');
  return { mountinfo, permittedCapabilities: parseCapMask(status, 'CapPrm') };
}

/** The capabilities this process holds: all a privileged container can be given (every one where the host does not say). */
export function heldCapabilities(): string[] {
  const mask = parseCapMask(readFileSync('/proc/self/status', 'utf8'), 'CapPrm');
  return mask === undefined ? [...CAPABILITIES] : capabilityNames(mask);
}

let rro: boolean | undefined;
/** The kernel sets mount attributes recursively (mount_setattr, Linux 5.12): what recursive read-only mounts ("rro",
 * a Pod's recursiveReadOnly, CRI's recursive_read_only) need. Asked once. */
export function recursiveMountAttributes(): boolean {
  return (rro ??= nativeFs().mountSetattrSupported());
}
