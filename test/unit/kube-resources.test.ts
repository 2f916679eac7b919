/** Kubernetes requests/limits → cgroup settings, checked against kubelet's arithmetic. */
import t from 'tap';
import { containerResources, milliCpu, milliCpuToQuota, milliCpuToShares, parseQuantity, podResources } from '../../src/cgroup/kube-resources';
import { mapResources } from '../../src/cgroup/resources';

t.test('quantities', async (t) => {
  t.equal(parseQuantity('128Mi', 'f'), 134217728);
  t.equal(parseQuantity('1G', 'f'), 1e9);
  t.equal(parseQuantity('1e3', 'f'), 1000);
  t.equal(parseQuantity('0.5', 'f'), 0.5);
  t.equal(milliCpu('250m', 'f'), 250);
  t.equal(milliCpu('1.5', 'f'), 1500);
  t.equal(milliCpu(2, 'f'), 2000);
  t.throws(() => parseQuantity('12 apples', 'spec.containers[0].resources.limits.memory'), /spec\.containers\[0\]\.resources\.limits\.memory: "12 apples" is not a Kubernetes quantity/);
});

t.test('kubelet conversions', async (t) => {
  t.equal(milliCpuToShares(0), 2);
  t.equal(milliCpuToShares(1), 2);
  t.equal(milliCpuToShares(250), 256);
  t.equal(milliCpuToShares(1000), 1024);
  t.equal(milliCpuToQuota(0), 0);
  t.equal(milliCpuToQuota(5), 1000, 'minimum quota');
  t.equal(milliCpuToQuota(500), 50000);
});

t.test('a container', async (t) => {
  const r = containerResources({ requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi', 'hugepages-2Mi': '4Mi' } }, 'spec.containers[0].resources');
  t.same(r, { cpu: { shares: 256, quota: 50000, period: 100000 }, memory: { limit: 134217728 }, hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] });
  t.same(containerResources({ limits: { cpu: '1' } }, 'f').cpu, { shares: 1024, quota: 100000, period: 100000 }, 'request defaults to the limit');
  t.same(containerResources(undefined, 'f'), { cpu: { shares: 2 } }, 'best effort');
  const files = mapResources(r).writes.map((w) => `${w.file}=${w.value}`);
  t.same(files, ['cpu.weight=10', 'cpu.max=50000 100000', 'memory.max=134217728', 'hugetlb.2MB.max=4194304'], 'and on to cgroup v2 files');
});

t.test('the pod: sums, unbounded when any container is', async (t) => {
  const a = containerResources({ requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '100Mi' } }, 'a');
  const b = containerResources({ requests: { cpu: '1' }, limits: { cpu: '1', memory: '50Mi' } }, 'b');
  t.same(podResources([a, b]), { cpu: { shares: 256 + 1024, quota: 150000, period: 100000 }, memory: { limit: 150 * 2 ** 20 } });
  const c = containerResources({ requests: { cpu: '100m' } }, 'c');
  t.same(podResources([a, c]), { cpu: { shares: 256 + 102 } }, 'no quota or memory limit when one container has none');
  const h1 = containerResources({ limits: { 'hugepages-2Mi': '4Mi', memory: '1Gi' } }, 'h1');
  const h2 = containerResources({ limits: { 'hugepages-2Mi': '2Mi', 'hugepages-1Gi': '1Gi', memory: '1Gi' } }, 'h2');
  t.same(podResources([h1, h2]).hugepageLimits, [{ pageSize: '2MB', limit: 6 * 2 ** 20 }, { pageSize: '1GB', limit: 2 ** 30 }], 'hugepages summed per size');
  t.equal(podResources([a, b]).hugepageLimits, undefined);
});

t.test('MemoryQoS (kubelet feature gate): memory.min = request, memory.high between request and limit; the pod protects the sum', async (t) => {
  const qos = { nodeAllocatable: 8 * 2 ** 30 };
  const burstable = containerResources({ requests: { memory: '32Mi' }, limits: { memory: '64Mi' } }, 'c', qos);
  t.same(burstable.unified, { 'memory.min': String(32 << 20), 'memory.high': String(Math.floor(((32 << 20) + 0.9 * (32 << 20)) / 4096) * 4096) });
  t.same(containerResources({ limits: { memory: '64Mi' } }, 'c', qos).unified, { 'memory.min': String(64 << 20) }, 'Guaranteed (request = limit): no memory.high');
  const noLimit = containerResources({ requests: { memory: '1Gi' } }, 'c', qos);
  t.equal(noLimit.unified?.['memory.high'], String(Math.floor(((1 << 30) + 0.9 * (8 * 2 ** 30 - (1 << 30))) / 4096) * 4096), 'no limit: against node allocatable');
  t.equal(containerResources({ requests: { cpu: '1' } }, 'c', qos).unified, undefined, 'no memory request: nothing');
  t.equal(containerResources({ requests: { memory: '32Mi' } }, 'c').unified, undefined, 'off unless asked, as in kubelet');
  t.same(podResources([burstable, containerResources({ limits: { memory: '64Mi' } }, 'c', qos)]).unified, { 'memory.min': String(96 << 20) });
});
