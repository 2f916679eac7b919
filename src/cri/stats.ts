/** CRI stats from cgroup v2 (what kubelet's /stats/summary and `kubectl top`
 * read): cpu (cpu.stat usage, and nano-cores from the previous sample),
 * memory (working set = usage - inactive_file, as cAdvisor), processes,
 * the writable layer's disk use and the pod's network counters. A value the
 * host cannot give (no memory controller here) is left out — an absent
 * UInt64Value — never reported as 0. */
import fs from 'node:fs';
import path from 'node:path';
import { readCgroupStats, type CgroupStats } from '../cgroup/stats';

type U64 = { value: string } | null;
const u64 = (n: number | undefined): U64 => (n === undefined || !Number.isFinite(n) ? null : { value: String(Math.max(0, Math.round(n))) });

/** unix ns as a string */
export const nowNs = (): string => (BigInt(Date.now()) * 1_000_000n).toString();

export interface CpuSample { at: bigint; usageNs: number }

/** CRI CpuUsage; nano-cores need the previous sample of the same cgroup. */
export function cpuUsage(s: CgroupStats, now: bigint, prev: CpuSample | undefined): { timestamp: string; usage_core_nano_seconds: U64; usage_nano_cores: U64 } {
  const usage = s.cpu?.usage.total;
  let nanoCores: number | undefined;
  if (usage !== undefined && prev && now > prev.at && usage >= prev.usageNs) nanoCores = ((usage - prev.usageNs) * 1e9) / Number(now - prev.at);
  return { timestamp: now.toString(), usage_core_nano_seconds: u64(usage), usage_nano_cores: u64(nanoCores) };
}

/** CRI MemoryUsage: absent values where the cgroup has no memory controller. */
export function memoryUsage(s: CgroupStats, now: bigint): Record<string, unknown> {
  const m = s.memory;
  if (!m) return { timestamp: now.toString(), working_set_bytes: null, available_bytes: null, usage_bytes: null, rss_bytes: null, page_faults: null, major_page_faults: null };
  const workingSet = Math.max(0, m.usage.usage - (m.raw.inactive_file ?? 0));
  return {
    timestamp: now.toString(),
    working_set_bytes: u64(workingSet),
    available_bytes: u64(m.usage.limit !== undefined ? m.usage.limit - workingSet : undefined),
    usage_bytes: u64(m.usage.usage),
    rss_bytes: u64(m.raw.anon),
    page_faults: u64(m.raw.pgfault),
    major_page_faults: u64(m.raw.pgmajfault),
  };
}

/** Processes in a cgroup and below (pids.current where the controller is, else cgroup.procs counted). */
export function processCount(dir: string, s: CgroupStats): number {
  if (s.pids) return s.pids.current;
  if (!dir) return 0; // no cgroup
  let n = 0;
  const walk = (d: string): void => {
    try {
      n += fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      /* gone meanwhile */
    }
  };
  walk(dir);
  return n;
}

export { diskUsage } from '../util/disk-usage';

/** /proc/<pid>/net/dev of a process in the pod's network namespace → CRI NetworkUsage (eth0 the default interface). */
export function networkUsage(netDev: string, now: bigint): Record<string, unknown> {
  const interfaces = netDev.split('\n').slice(2).filter((l) => l.includes(':')).map((l) => {
    const [name, rest] = l.split(':');
    const f = rest.trim().split(/\s+/).map(Number);
    return { name: name.trim(), rx_bytes: u64(f[0]), rx_errors: u64(f[2]), tx_bytes: u64(f[8]), tx_errors: u64(f[10]) };
  }).filter((i) => i.name !== 'lo');
  return { timestamp: now.toString(), default_interface: interfaces.find((i) => i.name === 'eth0') ?? interfaces[0] ?? null, interfaces };
}

/** The cgroup's stats and a CPU sample per cgroup directory, for nano-cores between calls. */
export class CgroupSampler {
  readonly #prev = new Map<string, CpuSample>();

  read(dir: string): { stats: CgroupStats; cpu: ReturnType<typeof cpuUsage>; memory: Record<string, unknown>; now: bigint } {
    const stats = readCgroupStats(dir);
    const now = BigInt(Date.now()) * 1_000_000n;
    const cpu = cpuUsage(stats, now, this.#prev.get(dir));
    if (stats.cpu) this.#prev.set(dir, { at: now, usageNs: stats.cpu.usage.total });
    if (this.#prev.size > 4096) this.#prev.delete(this.#prev.keys().next().value as string); // cgroups long gone
    return { stats, cpu, memory: memoryUsage(stats, now), now };
  }
}
