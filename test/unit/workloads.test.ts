/** Workload documents → the pods their controllers make. Pure. */
import t from 'tap';
import { parsePodManifests } from '../../src/pod/manifest';
import { readWorkload, templateHash, workloadPods } from '../../src/pod/workloads';

const deployment = (over = ''): string => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: c, image: busybox }] }${over}
`;

t.test('a Deployment: replicas pods, named and labelled as its controller does, in its namespace', async (t) => {
  let n = 0;
  const pods = parsePodManifests(deployment(), 'd.yaml', { random: () => (n++ % 27) / 27 });
  t.equal(pods.length, 3);
  const hash = pods[0].pod.metadata.labels!['pod-template-hash'];
  t.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  t.same(pods.map((p) => p.pod.metadata.name), [`web-${hash}-bcdfg`, `web-${hash}-hjklm`, `web-${hash}-npqrs`]);
  t.ok(pods.every((p) => p.pod.metadata.namespace === 'shop' && p.pod.metadata.labels!.app === 'web'));
  t.equal(templateHash({ a: 1 }), templateHash({ a: 1 }), 'the same template, the same hash');
});

t.test('StatefulSet ordinals and hostnames; DaemonSet one pod; Job checks', async (t) => {
  const sts = readWorkload({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 2, serviceName: 'dbs', selector: { matchLabels: {} }, template: { spec: { containers: [] } } } });
  t.same(sts.errors, []);
  t.same(workloadPods(sts.workload).map((p) => [(p.metadata as { name: string }).name, (p.spec as { hostname: string; subdomain: string }).hostname, (p.spec as { subdomain: string }).subdomain]), [['db-0', 'db-0', 'dbs'], ['db-1', 'db-1', 'dbs']]);
  const ds = readWorkload({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: {} }, template: { spec: {} } } });
  t.equal(workloadPods(ds.workload).length, 1, 'one node: one pod');
  const job = readWorkload({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { completions: 0, suspend: true, template: { spec: { restartPolicy: 'Always' } } } });
  t.same(job.errors, [
    'spec.suspend: not supported by podrun',
    "spec.template.spec.restartPolicy: a Job's pods must say Never or OnFailure",
    'spec.completions: must be a whole number of at least 1',
  ]);
  t.same(readWorkload({ apiVersion: 'v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector: { matchLabels: {} }, template: {} } }).errors, ['apiVersion: "v1": a Deployment is apps/v1']);
});

t.test('errors in the template are named as written in the workload', async (t) => {
  t.throws(() => parsePodManifests(deployment().replace('image: busybox', 'image: busybox, comand: [x]'), 'd.yaml'), { message: /d\.yaml: invalid Deployment:\n {2}spec\.template\.spec\.containers\[0\]\.comand: unknown field/ });
  t.throws(() => parsePodManifests(deployment('\n  volumeClaimTemplates: []'), 'd.yaml'), /spec\.volumeClaimTemplates: not supported by podrun|unknown field/);
  t.throws(() => parsePodManifests(deployment().replace('replicas: 3', 'replicas: -1'), 'd.yaml'), /spec\.replicas: must be a whole number of at least 0/);
  const warned = parsePodManifests(deployment().replace('replicas: 3', 'replicas: 2\n  revisionHistoryLimit: 3'), 'd.yaml');
  t.same(warned.map((p) => p.warnings), [['d.yaml: spec.revisionHistoryLimit: ignored (it means something only to a cluster\'s controller)'], []], 'said once, with the first pod');
});
