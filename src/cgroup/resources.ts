/** OCI linux.resources → cgroup v2 file writes, converted the way runc and
 * crun convert them. Pure: the caller decides what the host can enforce. */

export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
  /** the OCI field it comes from, for "not enforced" reports */
  field: string;
}

/** A setting with no cgroup v2 file (reported, never silently dropped). */
export interface Unmappable {
  field: string;
  reason: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** runc: cpu.shares (2..262144) → cpu.weight (1..10000) */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 100;
  return Math.floor(1 + ((Math.min(Math.max(shares, 2), 262144) - 2) * 9999) / 262142);
}

/** blkio weight (10..1000) → io.weight (1..10000) */
export function blkioToIoWeight(w: number): number {
  return Math.floor(1 + ((Math.min(Math.max(w, 10), 1000) - 10) * 9999) / 990);
}

const limitValue = (v: number): string => (v < 0 ? 'max' : String(v));

function cpuWrites(cpu: Obj, out: CgroupWrite[]): void {
  const shares = num(cpu.shares);
  if (shares !== undefined) out.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(shares)), field: 'linux.resources.cpu.shares' });
  const quota = num(cpu.quota);
  const period = num(cpu.period);
  if (quota !== undefined || period !== undefined) {
    const q = quota === undefined || quota <= 0 ? 'max' : String(quota);
    out.push({ controller: 'cpu', file: 'cpu.max', value: `${q} ${period ?? 100000}`, field: 'linux.resources.cpu.quota' });
  }
  if (typeof cpu.idle === 'number') out.push({ controller: 'cpu', file: 'cpu.idle', value: String(cpu.idle), field: 'linux.resources.cpu.idle' });
  if (typeof cpu.cpus === 'string' && cpu.cpus) out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: cpu.cpus, field: 'linux.resources.cpu.cpus' });
  if (typeof cpu.mems === 'string' && cpu.mems) out.push({ controller: 'cpuset', file: 'cpuset.mems', value: cpu.mems, field: 'linux.resources.cpu.mems' });
}

function memoryWrites(mem: Obj, out: CgroupWrite[], bad: Unmappable[]): void {
  const limit = num(mem.limit);
  if (limit !== undefined) out.push({ controller: 'memory', file: 'memory.max', value: limitValue(limit), field: 'linux.resources.memory.limit' });
  const reservation = num(mem.reservation);
  if (reservation !== undefined) out.push({ controller: 'memory', file: 'memory.low', value: limitValue(reservation), field: 'linux.resources.memory.reservation' });
  const swap = num(mem.swap);
  if (swap !== undefined) {
    // OCI swap is memory+swap (v1 semantics); v2 swap.max is swap alone
    let value: string;
    if (swap < 0) value = 'max';
    else if (limit === undefined || limit < 0) {
      bad.push({ field: 'linux.resources.memory.swap', reason: 'a swap limit needs memory.limit as well' });
      return;
    } else if (swap < limit) {
      bad.push({ field: 'linux.resources.memory.swap', reason: `memory+swap (${swap}) is below memory.limit (${limit})` });
      return;
    } else value = String(swap - limit);
    out.push({ controller: 'memory', file: 'memory.swap.max', value, field: 'linux.resources.memory.swap' });
  }
  for (const k of ['kernel', 'kernelTCP', 'swappiness']) {
    if (mem[k] !== undefined) bad.push({ field: `linux.resources.memory.${k}`, reason: 'has no cgroup v2 equivalent' });
  }
}

function ioWrites(io: Obj, out: CgroupWrite[]): void {
  const weight = num(io.weight);
  if (weight !== undefined) out.push({ controller: 'io', file: 'io.weight', value: `default ${blkioToIoWeight(weight)}`, field: 'linux.resources.blockIO.weight' });
  const throttles: [string, string][] = [
    ['throttleReadBpsDevice', 'rbps'], ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'], ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [key, knob] of throttles) {
    const list = io[key];
    if (!Array.isArray(list)) continue;
    list.forEach((d: unknown, i) => {
      if (!isObj(d)) return;
      out.push({ controller: 'io', file: 'io.max', value: `${d.major}:${d.minor} ${knob}=${d.rate}`, field: `linux.resources.blockIO.${key}[${i}]` });
    });
  }
}

export function mapResources(input: object | undefined): { writes: CgroupWrite[]; unmappable: Unmappable[] } {
  const writes: CgroupWrite[] = [];
  const unmappable: Unmappable[] = [];
  if (!input) return { writes, unmappable };
  const resources = input as Obj; // linux.resources, or kube-resources' OciResources (a subset)
  if (isObj(resources.cpu)) cpuWrites(resources.cpu, writes);
  if (isObj(resources.memory)) memoryWrites(resources.memory, writes, unmappable);
  if (isObj(resources.pids) && num(resources.pids.limit) !== undefined) {
    const l = num(resources.pids.limit)!;
    writes.push({ controller: 'pids', file: 'pids.max', value: l <= 0 ? 'max' : String(l), field: 'linux.resources.pids.limit' });
  }
  if (isObj(resources.blockIO)) ioWrites(resources.blockIO, writes);
  if (Array.isArray(resources.hugepageLimits)) {
    resources.hugepageLimits.forEach((h: unknown, i) => {
      if (isObj(h)) writes.push({ controller: 'hugetlb', file: `hugetlb.${h.pageSize}.max`, value: String(h.limit), field: `linux.resources.hugepageLimits[${i}]` });
    });
  }
  if (isObj(resources.unified)) {
    for (const [file, value] of Object.entries(resources.unified)) {
      writes.push({ controller: file.split('.')[0]!, file, value: String(value), field: `linux.resources.unified[${JSON.stringify(file)}]` });
    }
  }
  // linux.resources.devices is not a file: it becomes a BPF program (src/oci/device-rules.ts, native/launch/device_filter.c)
  if (resources.network !== undefined) unmappable.push({ field: 'linux.resources.network', reason: 'has no cgroup v2 equivalent' });
  if (resources.rdma !== undefined) unmappable.push({ field: 'linux.resources.rdma', reason: 'not supported yet' });
  return { writes, unmappable };
}
