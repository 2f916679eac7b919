/** CRI ListMetricDescriptors / ListPodSandboxMetrics: cAdvisor's metric
 * names for what podrun measures (kubelet's /metrics/cadvisor when it takes
 * metrics from the runtime). Values are CRI's unsigned integers: seconds
 * counters are whole seconds (as CRI-O sends them); a metric the host cannot
 * measure (memory without the controller) is not sent at all. Pure: the
 * stats arrive as CRI ContainerStats / PodSandboxStats shapes. */

export interface Descriptor { name: string; help: string; label_keys: string[] }

/** cAdvisor's base labels */
const BASE = ['id', 'name', 'image'];

export const METRIC_DESCRIPTORS: Descriptor[] = [
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative cpu time consumed in seconds.', label_keys: [...BASE, 'cpu'] },
  { name: 'container_memory_working_set_bytes', help: 'Current working set in bytes.', label_keys: BASE },
  { name: 'container_memory_usage_bytes', help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.', label_keys: BASE },
  { name: 'container_memory_rss', help: 'Size of RSS in bytes.', label_keys: BASE },
  { name: 'container_fs_usage_bytes', help: 'Number of bytes that are consumed by the container on this filesystem.', label_keys: [...BASE, 'device'] },
  { name: 'container_fs_inodes_total', help: 'Number of inodes used by the container on this filesystem.', label_keys: [...BASE, 'device'] },
  { name: 'container_network_receive_bytes_total', help: 'Cumulative count of bytes received', label_keys: [...BASE, 'interface'] },
  { name: 'container_network_transmit_bytes_total', help: 'Cumulative count of bytes transmitted', label_keys: [...BASE, 'interface'] },
  { name: 'container_network_receive_errors_total', help: 'Cumulative count of errors encountered while receiving', label_keys: [...BASE, 'interface'] },
  { name: 'container_network_transmit_errors_total', help: 'Cumulative count of errors encountered while transmitting', label_keys: [...BASE, 'interface'] },
  { name: 'container_processes', help: 'Number of processes running inside the container.', label_keys: BASE },
];

type U64 = { value: string } | null | undefined;
interface Metric { name: string; timestamp: string; metric_type: 'COUNTER' | 'GAUGE'; label_values: string[]; value: { value: string } }

const num = (v: U64): number | undefined => (v ? Number(v.value) : undefined);

function metric(name: string, type: Metric['metric_type'], ts: string, labels: string[], v: number | undefined): Metric[] {
  return v === undefined || !Number.isFinite(v) ? [] : [{ name, timestamp: ts, metric_type: type, label_values: labels, value: { value: String(Math.max(0, Math.floor(v))) } }];
}

/** One container's metrics from its CRI ContainerStats. */
export function containerMetrics(stats: { attributes: { id: string; metadata: { name: string } }; cpu: { timestamp: string; usage_core_nano_seconds: U64 }; memory: Record<string, unknown>; writable_layer: { timestamp: string; fs_id: { mountpoint: string }; used_bytes: U64; inodes_used: U64 } }, image: string): Metric[] {
  const labels = [stats.attributes.id, stats.attributes.metadata.name, image];
  const mem = stats.memory as { timestamp: string; working_set_bytes?: U64; usage_bytes?: U64; rss_bytes?: U64 };
  const w = stats.writable_layer;
  return [
    ...metric('container_cpu_usage_seconds_total', 'COUNTER', stats.cpu.timestamp, [...labels, 'total'], (num(stats.cpu.usage_core_nano_seconds) ?? NaN) / 1e9),
    ...metric('container_memory_working_set_bytes', 'GAUGE', mem.timestamp, labels, num(mem.working_set_bytes)),
    ...metric('container_memory_usage_bytes', 'GAUGE', mem.timestamp, labels, num(mem.usage_bytes)),
    ...metric('container_memory_rss', 'GAUGE', mem.timestamp, labels, num(mem.rss_bytes)),
    ...metric('container_fs_usage_bytes', 'GAUGE', w.timestamp, [...labels, w.fs_id.mountpoint], num(w.used_bytes)),
    ...metric('container_fs_inodes_total', 'GAUGE', w.timestamp, [...labels, w.fs_id.mountpoint], num(w.inodes_used)),
  ];
}

/** The pod's own metrics (network, processes) from its CRI PodSandboxStats, under the pod's name "POD" as cAdvisor's pause container. */
export function podMetrics(stats: { attributes: { id: string }; linux: { network: { timestamp: string; interfaces: Array<{ name: string; rx_bytes: U64; tx_bytes: U64; rx_errors: U64; tx_errors: U64 }> } | null; process: { timestamp: string; process_count: U64 } } }): Metric[] {
  const labels = [stats.attributes.id, 'POD', ''];
  const n = stats.linux.network;
  return [
    ...(n?.interfaces ?? []).flatMap((i) => [
      ...metric('container_network_receive_bytes_total', 'COUNTER', n!.timestamp, [...labels, i.name], num(i.rx_bytes)),
      ...metric('container_network_transmit_bytes_total', 'COUNTER', n!.timestamp, [...labels, i.name], num(i.tx_bytes)),
      ...metric('container_network_receive_errors_total', 'COUNTER', n!.timestamp, [...labels, i.name], num(i.rx_errors)),
      ...metric('container_network_transmit_errors_total', 'COUNTER', n!.timestamp, [...labels, i.name], num(i.tx_errors)),
    ]),
    ...metric('container_processes', 'GAUGE', stats.linux.process.timestamp, labels, num(stats.linux.process.process_count)),
  ];
}
