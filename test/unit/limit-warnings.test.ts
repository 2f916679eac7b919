/** Unenforceable limits are said once per pod, naming the Pod's fields; other warnings pass as they are. */
import t from 'tap';
import { parsePodManifest } from '../../src/pod/manifest';
import { limitWarnings, resourceFieldsFor } from '../../src/pod/limit-warnings';

const { pod } = parsePodManifest(`
apiVersion: v1
kind: Pod
metadata: { name: lim }
spec:
  initContainers: [{ name: i, image: busybox, resources: { requests: { memory: 8Mi } } }]
  containers:
    - { name: a, image: busybox, resources: { limits: { cpu: 500m, memory: 64Mi, hugepages-2Mi: 4Mi } } }
    - { name: b, image: busybox, resources: { requests: { cpu: 100m, ephemeral-storage: 1Gi } } }
`, 'lim.yaml');

t.test('the fields each controller enforces', async (t) => {
  t.same(resourceFieldsFor(pod, new Set(['cpu'])), ['spec.containers[0].resources.limits.cpu', 'spec.containers[1].resources.requests.cpu']);
  t.same(resourceFieldsFor(pod, new Set(['memory', 'hugetlb'])), [
    'spec.initContainers[0].resources.requests.memory', 'spec.containers[0].resources.limits.memory', 'spec.containers[0].resources.limits.hugepages-2Mi',
  ]);
});

t.test('said once, after the pod and every container reported theirs', async (t) => {
  const said: string[] = [];
  const w = limitWarnings(pod, (m) => said.push(m));
  for (const prefix of ['pod cgroup: ', '', '', '']) {
    w.onWarning(`${prefix}linux.resources.cpu.quota: not enforced: this host's cgroup v2 offers no cpu controller here`);
    w.onWarning(`${prefix}linux.resources.memory.limit: not enforced: this host's cgroup v2 offers no memory controller here`);
  }
  w.onWarning('linux.resources.pids.limit: not enforced: writing pids.max=5: EBUSY');
  t.same(said, ['linux.resources.pids.limit: not enforced: writing pids.max=5: EBUSY'], 'anything else at once, as it was');
  w.flush();
  w.flush();
  t.same(said.slice(1), [
    'spec.initContainers[0].resources.requests.memory, spec.containers[0].resources.limits.cpu, spec.containers[0].resources.limits.memory, '
    + 'spec.containers[1].resources.requests.cpu: not enforced: this host\'s cgroup v2 offers no cpu, memory controllers to podrun',
  ]);
});

t.test('QoS class as kubelet computes it, init containers included', async (t) => {
  const { qosClass } = await import('../../src/pod/pod-status');
  const q = (containers: string, init = ''): string => qosClass(parsePodManifest(`
apiVersion: v1
kind: Pod
metadata: { name: q }
spec:
  ${init ? `initContainers: [${init}]` : ''}
  containers: [${containers}]
`, 'q.yaml').pod);
  const limited = '{ name: a, image: b, resources: { limits: { cpu: 1, memory: 1Gi } } }';
  t.equal(q('{ name: a, image: b }'), 'BestEffort');
  t.equal(q(limited), 'Guaranteed', 'requests default to the limits');
  t.equal(q('{ name: a, image: b, resources: { requests: { cpu: 500m, memory: 1Gi }, limits: { cpu: 1, memory: 1Gi } } }'), 'Burstable');
  t.equal(q('{ name: a, image: b, resources: { requests: { cpu: "1", memory: 1024Mi }, limits: { cpu: 1000m, memory: 1Gi } } }'), 'Guaranteed', 'equal as quantities');
  t.equal(q(limited, '{ name: i, image: b }'), 'Burstable', 'an init container without limits');
  t.equal(q('{ name: a, image: b, resources: { limits: { cpu: 1 } } }'), 'Burstable', 'no memory limit');
});
