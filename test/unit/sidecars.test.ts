/** Sidecar containers (init containers with restartPolicy Always): which they are, the stop order, the pod's
 * conditions with them (pure). */
import t from 'tap';
import { parsePodManifest } from '../../src/pod/manifest';
import { podConditions, type ContainerStatusReport } from '../../src/pod/pod-status';
import { sidecarsOf, specOf, stopOrder } from '../../src/pod/sidecars';

const { pod } = parsePodManifest(`
apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  initContainers:
    - { name: a, image: x, restartPolicy: Always }
    - { name: once, image: x }
    - { name: b, image: x, restartPolicy: Always }
  containers:
    - { name: app1, image: x }
    - { name: app2, image: x }
`, 'p.yaml');

const rec = (name: string, init: boolean) => ({ name, init });

t.test('sidecars are the init containers restarted Always, in order; a record\'s spec by kind', async (t) => {
  const all = [rec('a', true), rec('once', true), rec('b', true), rec('app1', false), rec('app2', false)];
  t.same(sidecarsOf(pod, all).map((r) => r.name), ['a', 'b']);
  t.equal(specOf(pod, rec('b', true))?.restartPolicy, 'Always');
  t.equal(specOf(pod, rec('b', false)), undefined, 'an app container is not an init container of the same name');
});

t.test('stop order: the rest at once, then each sidecar, last declared first', async (t) => {
  const running = [rec('a', true), rec('b', true), rec('app1', false), rec('app2', false)];
  t.same(stopOrder(pod, running).map((g) => g.map((r) => r.name)), [['app1', 'app2'], ['b'], ['a']]);
  t.same(stopOrder(pod, [rec('a', true)]).map((g) => g.map((r) => r.name)), [['a']], 'only a sidecar left');
});

t.test('conditions: a sidecar initializes the pod once started, and counts for its readiness', async (t) => {
  const status = (name: string, over: Partial<ContainerStatusReport>): ContainerStatusReport =>
    ({ name, image: 'x', imageID: '', containerID: '', state: { running: { startedAt: '2026-01-01T00:00:01Z' } }, ready: true, restartCount: 0, ...over });
  const done = { state: { terminated: { exitCode: 0, reason: 'Completed' as const, finishedAt: '2026-01-01T00:00:02Z' } }, ready: false };
  const apps = [status('app1', {}), status('app2', {})];
  const cond = (init: ContainerStatusReport[]) => Object.fromEntries(podConditions('2026-01-01T00:00:00Z', init, apps, ['a', 'b']).map((c) => [c.type, c.status]));
  t.match(cond([status('a', { started: true }), status('once', done), status('b', { started: true })]), { Initialized: 'True', Ready: 'True' });
  t.match(cond([status('a', { started: true, ready: false }), status('once', done), status('b', { started: true })]), { Initialized: 'True', Ready: 'False' }, 'an unready sidecar: the pod is not ready');
  t.match(cond([status('a', { started: false, state: { waiting: { reason: 'CrashLoopBackOff' } }, ready: false }), status('once', done), status('b', { started: true })]), { Initialized: 'False' });
});
