/** Kubernetes requests/limits → OCI linux.resources, as kubelet computes
 * them (pkg/kubelet/cm: MilliCPUToShares, MilliCPUToQuota, pod totals).
 * Pure; src/cgroup/resources.ts turns the result into cgroup v2 files. */
import { PodrunError } from '../errors';

export interface KubeResources {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

export interface OciResources {
  cpu?: { shares?: number; quota?: number; period?: number };
  memory?: { limit?: number };
  hugepageLimits?: { pageSize: string; limit: number }[];
  /** cgroup v2 files set verbatim (MemoryQoS: memory.min, memory.high) */
  unified?: Record<string, string>;
}

/** kubelet's MemoryQoS (cgroup v2, feature gate): memory.min protects the
 * request, memory.high throttles before the limit. */
export interface MemoryQoS {
  /** kubelet's memoryThrottlingFactor, default 0.9 */
  throttlingFactor?: number;
  /** what memory.high is computed against when there is no limit (kubelet: node allocatable) */
  nodeAllocatable: number;
  pageSize?: number;
}

const MIN_SHARES = 2;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA = 1000;

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3,
};

/** A Kubernetes quantity ("500m", "1.5", "128Mi", "1e3") as a number of units. */
export function parseQuantity(q: string | number, field: string): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d+(?:\.\d+)?|[+-]?\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m))?$/.exec(q.trim());
  if (!m) throw new PodrunError('EINVALID_CONFIG', `${field}: ${JSON.stringify(q)} is not a Kubernetes quantity`, { field });
  const base = Number(m[1]);
  return m[2] ? base * 10 ** Number(m[2].slice(1)) : base * SUFFIX[m[3] ?? '']!;
}

export const milliCpu = (q: string | number, field: string): number => Math.ceil(parseQuantity(q, field) * 1000 - 1e-9);

export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milli * SHARES_PER_CPU) / 1000));
}

export function milliCpuToQuota(milli: number): number {
  if (milli === 0) return 0;
  return Math.max(MIN_QUOTA, Math.floor((milli * QUOTA_PERIOD) / 1000));
}

/** hugepages-2Mi → "2MB" (the kernel's hugetlb.<size> naming) */
function hugePageSize(resource: string): string | undefined {
  const m = /^hugepages-(\d+)(Ki|Mi|Gi)$/.exec(resource);
  if (!m) return undefined;
  return `${m[1]}${{ Ki: 'KB', Mi: 'MB', Gi: 'GB' }[m[2] as 'Ki' | 'Mi' | 'Gi']}`;
}

/** One container's resources, as kubelet sets them on its cgroup. */
export function containerResources(r: KubeResources | undefined, field: string, qos?: MemoryQoS): OciResources {
  const out: OciResources = {};
  const req = r?.requests ?? {};
  const lim = r?.limits ?? {};
  // a limit without a request means request = limit (Kubernetes defaulting)
  const cpuReq = req.cpu ?? lim.cpu;
  out.cpu = { shares: milliCpuToShares(cpuReq === undefined ? 0 : milliCpu(cpuReq, `${field}.requests.cpu`)) };
  if (lim.cpu !== undefined) {
    const quota = milliCpuToQuota(milliCpu(lim.cpu, `${field}.limits.cpu`));
    if (quota > 0) Object.assign(out.cpu, { quota, period: QUOTA_PERIOD });
  }
  if (lim.memory !== undefined) out.memory = { limit: Math.round(parseQuantity(lim.memory, `${field}.limits.memory`)) };
  const memReq = req.memory ?? lim.memory;
  if (qos && memReq !== undefined) {
    const request = Math.round(parseQuantity(memReq, `${field}.requests.memory`));
    const unified: Record<string, string> = { 'memory.min': String(request) };
    const limit = out.memory?.limit;
    // memory.high = floor[(request + factor × (limit or allocatable − request)) / page] × page; none when request = limit (Guaranteed)
    if (limit === undefined || limit > request) {
      const page = qos.pageSize ?? 4096;
      const high = Math.floor((request + (qos.throttlingFactor ?? 0.9) * ((limit ?? qos.nodeAllocatable) - request)) / page) * page;
      if (high > request) unified['memory.high'] = String(high);
    }
    out.unified = unified;
  }
  for (const [k, v] of Object.entries(lim)) {
    const size = hugePageSize(k);
    if (size) (out.hugepageLimits ??= []).push({ pageSize: size, limit: Math.round(parseQuantity(v, `${field}.limits.${k}`)) });
  }
  return out;
}

/** The pod cgroup: shares are the sum of requests; a quota or memory limit
 * only when every container has one (otherwise the pod is unbounded). */
export function podResources(containers: OciResources[]): OciResources {
  const sum = (f: (c: OciResources) => number | undefined): number | undefined => {
    let total = 0;
    for (const c of containers) {
      const v = f(c);
      if (v === undefined) return undefined;
      total += v;
    }
    return total;
  };
  const shares = containers.reduce((n, c) => n + (c.cpu?.shares ?? MIN_SHARES), 0);
  const out: OciResources = { cpu: { shares: Math.max(MIN_SHARES, shares) } };
  const quota = containers.length ? sum((c) => c.cpu?.quota) : undefined;
  if (quota) Object.assign(out.cpu!, { quota, period: QUOTA_PERIOD });
  const memory = containers.length ? sum((c) => c.memory?.limit) : undefined;
  if (memory) out.memory = { limit: memory };
  // hugepages cannot be overcommitted: the pod gets the sum per page size (kubelet's HugePageLimits)
  const huge = new Map<string, number>();
  for (const c of containers) for (const h of c.hugepageLimits ?? []) huge.set(h.pageSize, (huge.get(h.pageSize) ?? 0) + h.limit);
  if (huge.size) out.hugepageLimits = [...huge].map(([pageSize, limit]) => ({ pageSize, limit }));
  // MemoryQoS: the pod protects the sum of its containers' requests
  const mins = containers.map((c) => c.unified?.['memory.min']).filter((v): v is string => v !== undefined);
  if (mins.length) out.unified = { 'memory.min': String(mins.reduce((n, v) => n + Number(v), 0)) };
  return out;
}
