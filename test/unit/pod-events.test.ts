/** Pod status → events (pure). */
import t from 'tap';
import { diffStatus } from '../../src/pod/pod-events';
import type { ContainerStatusReport, PodStatusReport } from '../../src/pod/pod-status';

const ctr = (name: string, state: ContainerStatusReport['state'], extra: Partial<ContainerStatusReport> = {}): ContainerStatusReport => ({
  name, image: 'i', imageID: 'x', containerID: `podrun://${name}`, state, ready: 'running' in state, restartCount: 0, ...extra,
});
const pod = (phase: PodStatusReport['phase'], containers: ContainerStatusReport[]): PodStatusReport => ({
  phase, startTime: 't', initContainerStatuses: [], containerStatuses: containers, conditions: [], qosClass: 'BestEffort', hostIP: '127.0.0.1', hostIPs: [{ ip: '127.0.0.1' }],
});

t.test('first look, starts, a crash into back-off, a restart, readiness, probe failure, the end', async (t) => {
  const running = pod('Running', [ctr('a', { running: { startedAt: 't' } })]);
  t.same(diffStatus(undefined, running), [
    { type: 'PhaseChanged', phase: 'Running' },
    { type: 'ContainerStarted', container: 'a', restartCount: 0 },
    { type: 'ContainerReady', container: 'a', ready: true },
  ]);
  t.same(diffStatus(running, running), [], 'nothing changed, nothing reported');
  const backoff = pod('Running', [ctr('a', { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } }, {
    ready: false, lastState: { terminated: { exitCode: 3, reason: 'Error', finishedAt: 't' } }, lastProbeFailure: 'liveness probe failed 3 times: exit 1',
  })]);
  t.same(diffStatus(running, backoff), [
    { type: 'ContainerTerminated', container: 'a', exitCode: 3, reason: 'Error' },
    { type: 'ContainerBackOff', container: 'a', message: 'back-off 10s' },
    { type: 'ContainerReady', container: 'a', ready: false },
    { type: 'ProbeFailed', container: 'a', message: 'liveness probe failed 3 times: exit 1' },
  ]);
  const again = pod('Running', [ctr('a', { running: { startedAt: 't2' } }, { restartCount: 1, lastProbeFailure: 'liveness probe failed 3 times: exit 1' })]);
  t.same(diffStatus(backoff, again), [{ type: 'ContainerStarted', container: 'a', restartCount: 1 }, { type: 'ContainerReady', container: 'a', ready: true }]);
  const done = pod('Succeeded', [ctr('a', { terminated: { exitCode: 0, reason: 'Completed', finishedAt: 't3' } }, { restartCount: 1, lastProbeFailure: 'liveness probe failed 3 times: exit 1' })]);
  t.same(diffStatus(again, done), [
    { type: 'PhaseChanged', phase: 'Succeeded' },
    { type: 'ContainerTerminated', container: 'a', exitCode: 0, reason: 'Completed' },
    { type: 'ContainerReady', container: 'a', ready: false },
  ]);
});
