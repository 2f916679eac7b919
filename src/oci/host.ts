/** Facts about the host the plan builder needs, read once per call (edge). */
import { readFile } from 'node:fs/promises';
import { parseCapMask } from './capabilities';

export interface HostFacts {
  mountinfo: string;
  permittedCapabilities?: bigint;
}

export async function readHostFacts(): Promise<HostFacts> {
  const [mountinfo, status] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/self/status', 'utf8'),
  ]);
  return { mountinfo, permittedCapabilities: parseCapMask(status, 'CapPrm') };
}
