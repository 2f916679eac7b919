/** cgroup v2 statistics in runc's `events --stats` shape. Parsing is pure;
 * readCgroupStats reads whichever files the host's controllers provide. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** "key value" lines (cpu.stat, memory.stat, memory.events) */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

export interface CgroupStats {
  cpu?: { usage: { total: number; kernel: number; user: number }; throttling?: { periods: number; throttled_periods: number; throttled_time: number } };
  memory?: { usage: { usage: number; limit?: number }; raw: Record<string, number>; oom_kill: number };
  pids?: { current: number; limit?: number };
  io?: { devices: IoDeviceStats[] };
  /** controllers this cgroup does not have on this host */
  unavailable: string[];
}

export interface IoDeviceStats {
  major: number;
  minor: number;
  rbytes: number;
  wbytes: number;
  rios: number;
  wios: number;
}

/** io.stat lines: `MAJ:MIN rbytes=… wbytes=… rios=… wios=… …` */
export function parseIoStat(text: string): IoDeviceStats[] {
  const out: IoDeviceStats[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const v = Object.fromEntries(kvs.map((kv) => kv.split('=')).map(([k, x]) => [k, Number(x)]));
    out.push({ major: Number(m[1]), minor: Number(m[2]), rbytes: v.rbytes ?? 0, wbytes: v.wbytes ?? 0, rios: v.rios ?? 0, wios: v.wios ?? 0 });
  }
  return out;
}

/** A file of the cgroup; '' is no cgroup (rootless with none delegated): nothing to read, never a relative path. */
function read(dir: string, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

const limit = (v: string | undefined): number | undefined => (v === undefined || v.trim() === 'max' ? undefined : Number(v.trim()));

/** OOM kills recorded in the cgroup's memory.events (0 where there is no
 * memory controller). Read before the cgroup is removed. */
export function oomKills(dir: string): number {
  return parseKeyValues(read(dir, 'memory.events') ?? '').oom_kill ?? 0;
}

export function readCgroupStats(dir: string): CgroupStats {
  const stats: CgroupStats = { unavailable: [] };
  const cpu = read(dir, 'cpu.stat');
  if (cpu !== undefined) {
    const c = parseKeyValues(cpu);
    stats.cpu = { usage: { total: (c.usage_usec ?? 0) * 1000, kernel: (c.system_usec ?? 0) * 1000, user: (c.user_usec ?? 0) * 1000 } };
    if (c.nr_periods !== undefined) {
      stats.cpu.throttling = { periods: c.nr_periods, throttled_periods: c.nr_throttled ?? 0, throttled_time: (c.throttled_usec ?? 0) * 1000 };
    }
  } else stats.unavailable.push('cpu');
  const mem = read(dir, 'memory.current');
  if (mem !== undefined) {
    const events = parseKeyValues(read(dir, 'memory.events') ?? '');
    stats.memory = { usage: { usage: Number(mem.trim()), limit: limit(read(dir, 'memory.max')) }, raw: parseKeyValues(read(dir, 'memory.stat') ?? ''), oom_kill: events.oom_kill ?? 0 };
  } else stats.unavailable.push('memory');
  const pids = read(dir, 'pids.current');
  if (pids !== undefined) stats.pids = { current: Number(pids.trim()), limit: limit(read(dir, 'pids.max')) };
  else stats.unavailable.push('pids');
  const io = read(dir, 'io.stat');
  if (io !== undefined) stats.io = { devices: parseIoStat(io) };
  else stats.unavailable.push('io');
  return stats;
}
