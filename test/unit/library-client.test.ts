/** The library client's pure parts, without root: the pod builder, copy targets, and when a wait gives up. */
import t from 'tap';
import { archivePath, copyInArchive } from '../../src/client/copy';
import { PodBuilder, defaultContainerName } from '../../src/client/pod-builder';
import { podGaveUp } from '../../src/client/wait';
import { parsePodManifest } from '../../src/index';
import type { PodStatusReport } from '../../src/pod';

t.test('the builder makes an ordinary Pod manifest', async (t) => {
  const pod = new PodBuilder('cache').label('app', 'cache').annotation('note', 'x').restartPolicy('Never')
    .initContainer({ image: 'busybox', command: ['true'] })
    .container({ image: 'docker.io/library/redis:7.2@sha256:abc', args: ['--save', ''], env: { A: '1' }, ports: [6379, { containerPort: 9121, name: 'metrics' }], workingDir: '/data' })
    .container({ image: 'redis:7', spec: { tty: true } })
    .spec({ hostname: 'h' })
    .build();
  t.same(pod, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'cache', labels: { app: 'cache' }, annotations: { note: 'x' } },
    spec: {
      restartPolicy: 'Never', hostname: 'h',
      initContainers: [{ name: 'busybox', image: 'busybox', command: ['true'] }],
      containers: [
        { name: 'redis', image: 'docker.io/library/redis:7.2@sha256:abc', args: ['--save', ''], env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 6379 }, { containerPort: 9121, name: 'metrics' }], workingDir: '/data' },
        { name: 'redis-2', image: 'redis:7', tty: true },
      ],
    },
  });
  // what it builds passes podrun's own checks, which name the fields as the manifest has them
  t.equal(parsePodManifest(JSON.stringify(pod), 'built').pod.spec.containers.length, 2);
  const bad = new PodBuilder('Bad_Name').container({ image: 'x' }).build();
  t.throws(() => parsePodManifest(JSON.stringify(bad), 'built'), { code: 'EINVALID_CONFIG', field: 'metadata.name' });
});

t.test('env and ports add to what spec has', async (t) => {
  const pod = new PodBuilder('p').container({ image: 'x', env: { A: '1' }, ports: [80], spec: { env: [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], ports: [{ containerPort: 9, hostPort: 9 }] } }).build();
  t.same(pod.spec.containers[0].env, [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'A', value: '1' }]);
  t.same(pod.spec.containers[0].ports, [{ containerPort: 9, hostPort: 9 }, { containerPort: 80 }]);
});

t.test('default container names come from the image', async (t) => {
  t.equal(defaultContainerName('localhost:5000/team/My_App:1.0'), 'my-app');
  t.equal(defaultContainerName('nginx'), 'nginx');
  t.equal(defaultContainerName('quay.io/x/y@sha256:00'), 'y');
  t.equal(defaultContainerName('___'), 'main');
});

t.test('copy targets are absolute container paths, normalised', async (t) => {
  t.equal(archivePath('/etc/app/x.conf'), 'etc/app/x.conf');
  t.equal(archivePath('/a/../../b/'), 'b', '.. cannot climb above / (inside the container anyway)');
  t.throws(() => archivePath('rel/x'), { code: 'EINVALID_CONFIG', field: 'target' });
  t.throws(() => archivePath('/'), { code: 'EINVALID_CONFIG', field: 'target' });
  t.throws(() => archivePath('nope', 'source'), { code: 'EINVALID_CONFIG', field: 'source' }, 'named as the caller calls it');
  t.throws(() => copyInArchive('/x', { path: '/nonexistent/podrun' }), { code: 'ENOTFOUND', field: 'source' });
  t.same(copyInArchive('/x', { content: 'y' }).command, ['tar', '-x', '-f', '-', '-C', '/']);
});

const status = (over: Partial<PodStatusReport>): PodStatusReport => ({ phase: 'Running', conditions: [], qosClass: 'BestEffort', hostIP: '', hostIPs: [], startTime: '', initContainerStatuses: [], containerStatuses: [], ...over });

t.test('a wait gives up on pods that ended or crash-loop', async (t) => {
  t.equal(podGaveUp(status({})), undefined);
  t.equal(podGaveUp(status({ phase: 'Failed', message: 'boom' })), 'the pod failed: boom');
  t.equal(podGaveUp(status({ phase: 'Succeeded' })), 'the pod has completed');
  t.equal(podGaveUp(status({
    containerStatuses: [{ name: 'app', image: '', imageID: '', containerID: '', ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 2, reason: 'Error', finishedAt: '' } } }],
  })), 'container app crashed (exit code 2, Error) and waits to restart');
});
