/** CRI stats, container events and ReopenContainerLog on `podrun cri`, as
 * root: figures that move when a container works (and are absent, not 0,
 * where this host's cgroup v2 has no controller), kubelet's evented-PLEG
 * stream, the log hand-off of kubelet's own rotation. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type * as grpcTypes from '@grpc/grpc-js';
import { waitFor } from '../helpers';
import { containerConfig, criEnv, grpc, sandboxConfig } from '../support/cri-env';

const hasMemoryController = (): boolean => {
  try {
    return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').includes('memory') || fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('memory');
  } catch {
    return false;
  }
};

t.test('stats: cpu that moves with work, the writable layer, the pod\'s processes and network', async (t) => {
  const e = await criEnv(t);
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: sandboxConfig('stats', e.logDir) });
  // burn cpu for a while, write 1 MiB into the writable layer, then idle
  const { container_id: id } = await e.call('CreateContainer', {
    pod_sandbox_id: pod,
    config: containerConfig('busy', ['sh', '-c', 'dd if=/dev/zero of=/blob bs=1024 count=1024 2>/dev/null; i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 1000'], { labels: { tier: 'x' } }),
  });
  const created = (await e.call('ContainerStats', { container_id: id })).stats;
  t.equal(created.attributes.id, id);
  await e.call('StartContainer', { container_id: id });
  const cpuNs = async (): Promise<bigint> => BigInt((await e.call('ContainerStats', { container_id: id })).stats.cpu.usage_core_nano_seconds?.value ?? 0);
  const first = await cpuNs();
  await waitFor(async () => (await cpuNs()) > first + 50_000_000n, 'cpu usage to grow by 50 ms', 30_000);
  const s = (await e.call('ContainerStats', { container_id: id })).stats;
  t.ok(Number(s.cpu.timestamp) > 0);
  t.ok(s.cpu.usage_nano_cores, 'nano-cores from the previous sample');
  t.ok(Number(s.writable_layer.used_bytes.value) >= 1024 * 1024, 'the 1 MiB written is in the writable layer');
  if (hasMemoryController()) t.ok(Number(s.memory.working_set_bytes.value) > 0);
  else t.equal(s.memory.working_set_bytes, null, 'no memory controller here: no figure, not 0');
  t.same((await e.call('ListContainerStats', { filter: { label_selector: { tier: 'x' } } })).stats.map((x: { attributes: { id: string } }) => x.attributes.id), [id]);
  t.same((await e.call('ListContainerStats', { filter: { label_selector: { tier: 'y' } } })).stats, []);
  const p = (await e.call('PodSandboxStats', { pod_sandbox_id: pod })).stats;
  t.equal(p.attributes.id, pod);
  t.ok(Number(p.linux.process.process_count.value) >= 1);
  t.equal(p.linux.network.default_interface.name, 'eth0');
  t.ok(Number(p.linux.network.default_interface.tx_bytes.value) >= 0);
  t.same(p.linux.containers.map((x: { attributes: { id: string } }) => x.attributes.id), [id]);
  t.same((await e.call('ListPodSandboxStats', {})).stats.map((x: { attributes: { id: string } }) => x.attributes.id), [pod]);
  // the same figures as cAdvisor's metrics (kubelet's /metrics/cadvisor from the runtime)
  const names = (await e.call('ListMetricDescriptors', {})).descriptors.map((d: { name: string }) => d.name);
  t.ok(names.includes('container_cpu_usage_seconds_total') && names.includes('container_network_receive_bytes_total'));
  const [pm] = (await e.call('ListPodSandboxMetrics', {})).pod_metrics;
  t.equal(pm.pod_sandbox_id, pod);
  t.ok(pm.metrics.some((m: { name: string; label_values: string[] }) => m.name === 'container_network_transmit_bytes_total' && m.label_values[3] === 'eth0'));
  const cm = pm.container_metrics[0];
  t.equal(cm.container_id, id);
  t.match(cm.metrics.find((m: { name: string }) => m.name === 'container_fs_usage_bytes'), { metric_type: 'GAUGE', label_values: [id, 'busy', 'localhost/podrun/busybox:latest'] });
  t.equal(cm.metrics.some((m: { name: string }) => m.name === 'container_memory_working_set_bytes'), hasMemoryController(), 'memory only where it is measured');
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
});

t.test('GetContainerEvents: created, started, stopped, deleted for sandboxes and containers', async (t) => {
  const e = await criEnv(t);
  const stream = e.events();
  const seen: Array<[string, string]> = [];
  stream.on('data', (ev: { container_id: string; container_event_type: string }) => seen.push([ev.container_id, ev.container_event_type]));
  stream.on('error', () => undefined); // cancelled at the end
  await new Promise((r) => setTimeout(r, 300)); // the server has the listener
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: sandboxConfig('events', e.logDir) });
  const { container_id: id } = await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('short', ['sh', '-c', 'sleep 1']) });
  await e.call('StartContainer', { container_id: id });
  await waitFor(async () => seen.some(([c, k]) => c === id && k === 'CONTAINER_STOPPED_EVENT'), 'the container\'s exit as an event', 10_000);
  await e.call('RemoveContainer', { container_id: id });
  await e.call('StopPodSandbox', { pod_sandbox_id: pod });
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
  await waitFor(async () => seen.some(([c, k]) => c === pod && k === 'CONTAINER_DELETED_EVENT'), 'the sandbox\'s removal');
  stream.cancel();
  t.same(seen.filter(([c]) => c === id).map(([, k]) => k), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
  t.same(seen.filter(([c]) => c === pod).map(([, k]) => k), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
});

t.test('ReopenContainerLog: after kubelet renames the log, new output goes to a new file at the path', async (t) => {
  const e = await criEnv(t);
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: sandboxConfig('logs', e.logDir) });
  const { container_id: id } = await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('ticker', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.1; done']) });
  await e.call('StartContainer', { container_id: id });
  const log = path.join(e.logDir, 'ticker.log');
  await waitFor(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('tick 2'), 'output');
  fs.renameSync(log, `${log}.1`);
  await e.call('ReopenContainerLog', { container_id: id });
  t.ok(fs.existsSync(log), 'a new file at the path');
  await waitFor(async () => fs.readFileSync(log, 'utf8').includes('tick'), 'output in the new file');
  const old = fs.readFileSync(`${log}.1`, 'utf8');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(fs.readFileSync(`${log}.1`, 'utf8'), old, 'the renamed file no longer grows');
  const lastOld = Number(/tick (\d+)\n$/.exec(old)?.[1]);
  const firstNew = Number(/tick (\d+)/.exec(fs.readFileSync(log, 'utf8'))?.[1]);
  t.equal(firstNew, lastOld + 1, 'no line lost or doubled across the hand-off');
  await e.call('StopContainer', { container_id: id, timeout: 0 });
  const stopped = await e.call('ReopenContainerLog', { container_id: id }).then(() => 0, (err: grpcTypes.ServiceError) => err.code);
  t.equal(stopped, grpc.status.FAILED_PRECONDITION, 'a stopped container has no log to reopen');
  const cp = await e.call('CheckpointContainer', { container_id: id }).then(() => '', (err: grpcTypes.ServiceError) => `${err.code} ${err.details}`);
  t.match(cp, new RegExp(`^${grpc.status.UNIMPLEMENTED} CheckpointContainer: .*CRIU`), 'checkpoint: Unimplemented, with the reason');
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
});
