/** Probe manifests → probe specs and their validation (pure). */
import t from 'tap';
import { hookAction } from '../../src/pod/lifecycle-handler';
import { notYetImplemented, parsePodManifest } from '../../src/pod/manifest';
import { applyResult, initialState, probeSpecs } from '../../src/pod/probe-state';

const pod = (container: string): string => `
apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - ${container}
`;

t.test('exec, tcpSocket and httpGet probes become actions, with Kubernetes defaults and named ports', async (t) => {
  const { pod: p } = parsePodManifest(pod(`{ name: c, image: i, ports: [{ name: web, containerPort: 8080 }],
      startupProbe: { exec: { command: ['true'] } },
      livenessProbe: { tcpSocket: { port: web } },
      readinessProbe: { httpGet: { path: /healthz, port: 9090, host: 10.0.0.7, httpHeaders: [{ name: X-A, value: b }] }, periodSeconds: 2, successThreshold: 2 } }`));
  const specs = probeSpecs(p.spec.containers[0]);
  t.same(specs.map((s) => [s.kind, s.action]), [
    ['startup', { type: 'exec', command: ['true'] }],
    ['liveness', { type: 'tcp', host: undefined, port: 8080 }],
    ['readiness', { type: 'http', host: '10.0.0.7', port: 9090, path: '/healthz', headers: [{ name: 'X-A', value: 'b' }] }],
  ]);
  t.same(specs.map((s) => [s.periodMs, s.timeoutMs, s.successThreshold, s.failureThreshold]), [[10000, 1000, 1, 3], [10000, 1000, 1, 3], [2000, 1000, 2, 3]]);
  const { pod: q } = parsePodManifest(pod('{ name: c, image: i, readinessProbe: { httpGet: { port: 80 } } }'));
  t.match(probeSpecs(q.spec.containers[0])[0].action, { type: 'http', path: '/', port: 80 }, 'path defaults to /');
});

t.test('probe handlers are validated with their field paths', async (t) => {
  const bad = (c: string) => {
    try {
      parsePodManifest(pod(c));
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };
  t.match(bad('{ name: c, image: i, livenessProbe: { tcpSocket: { port: web } } }'), /spec\.containers\[0\]\.livenessProbe\.tcpSocket\.port: "web" is not the name of one of the container's ports/);
  t.match(bad('{ name: c, image: i, livenessProbe: { exec: { command: [x] }, tcpSocket: { port: 1 } } }'), /livenessProbe: exactly one handler is required \(exec, httpGet, tcpSocket or grpc\), got 2/);
  t.match(bad('{ name: c, image: i, readinessProbe: { periodSeconds: 1 } }'), /readinessProbe: exactly one handler is required/);
  t.match(bad('{ name: c, image: i, readinessProbe: { httpGet: { port: 80, host: example.com } } }'), /readinessProbe\.httpGet\.host: must be an IP address/);
  t.match(bad('{ name: c, image: i, readinessProbe: { httpGet: { port: 70000 } } }'), /readinessProbe\.httpGet\.port/);
  t.equal(bad('{ name: c, image: i, readinessProbe: { grpc: { port: 80, service: db } } }'), '', 'grpc is taken');
  t.match(bad('{ name: c, image: i, readinessProbe: { grpc: { port: http } } }'), /readinessProbe\.grpc\.port/, 'a gRPC probe takes no named port');
  const https = parsePodManifest(pod('{ name: c, image: i, readinessProbe: { httpGet: { port: 443, scheme: HTTPS } } }')).pod;
  t.same(notYetImplemented(https), [], 'HTTPS probes are made');
  t.match(probeSpecs(https.spec.containers[0])[0].action, { type: 'http', port: 443, https: true });
});

t.test('a failing tcp liveness probe kills after failureThreshold; readiness follows thresholds', async (t) => {
  const { pod: p } = parsePodManifest(pod('{ name: c, image: i, livenessProbe: { tcpSocket: { port: 1 }, failureThreshold: 2 } }'));
  const [live] = probeSpecs(p.spec.containers[0]);
  let st = initialState([live]);
  let r = applyResult(live, st, false, 1, 'dial tcp 127.0.0.1:1: Connection refused');
  t.notOk(r.kill);
  st = r.state;
  r = applyResult(live, st, false, 2, 'dial tcp 127.0.0.1:1: Connection refused');
  t.equal(r.kill, 'liveness probe failed 2 times: dial tcp 127.0.0.1:1: Connection refused');
});

t.test('lifecycle hooks: exec, httpGet (named ports, default path) and sleep actions', async (t) => {
  const c = { name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] } as never;
  t.same(hookAction(c, { exec: { command: ['true'] } }), { type: 'exec', command: ['true'] });
  t.same(hookAction(c, { httpGet: { port: 'http' } }), { type: 'http', host: undefined, port: 8080, path: '/', headers: [] });
  t.same(hookAction(c, { sleep: { seconds: 0 } }), { type: 'sleep', seconds: 0 });
  t.equal(hookAction(c, undefined), undefined);
});

t.test('grpc probes: grpc.health.v1 Check framed by hand, its answer read', async (t) => {
  const { healthCheckRequest, healthCheckStatus } = await import('../../src/pod/grpc-probe');
  t.same([...healthCheckRequest('')], [0, 0, 0, 0, 0], 'no service: an empty message');
  t.same([...healthCheckRequest('db')], [0, 0, 0, 0, 4, 0x0a, 2, 0x64, 0x62]);
  t.equal(healthCheckStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 'SERVING');
  t.equal(healthCheckStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 2])), 'NOT_SERVING');
  t.equal(healthCheckStatus(Buffer.from([0, 0, 0, 0, 0])), 'UNKNOWN', 'the default value is not sent');
  t.equal(healthCheckStatus(Buffer.from([0, 0, 0, 0, 5, 0x12, 1, 0x78, 0x08, 1])), 'SERVING', 'an unknown field skipped');
  const { probeSpecs } = await import('../../src/pod/probe-state');
  t.same(probeSpecs({ name: 'c', image: 'x', readinessProbe: { grpc: { port: 9000 } } } as never)[0].action, { type: 'grpc', port: 9000, service: '' });
});
