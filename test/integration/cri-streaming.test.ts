/** CRI Exec, Attach and PortForward through `podrun cri`'s streaming server,
 * as root, with Node clients doing what kubectl does: the SPDY/3.1 upgrade
 * (streams per channel) and the WebSocket v5.channel.k8s.io upgrade. The
 * server runs in our network namespace (its streaming server is on our
 * 127.0.0.1); the pods are loopback-only. */
import t from 'tap';
import type * as grpcTypes from '@grpc/grpc-js';
import { waitFor } from '../helpers';
import { containerConfig, criEnv, grpc, sandboxConfig, type Call } from '../support/cri-env';
import { SpdyClient } from '../support/spdy-client';

const WebSocket = (require('ws') as typeof import('ws')).WebSocket;

async function podWith(call: Call, logDir: string, command: string[], extra: object = {}): Promise<{ pod: string; id: string }> {
  const { pod_sandbox_id: pod } = await call('RunPodSandbox', { config: sandboxConfig(`s${Math.random().toString(16).slice(2, 8)}`, logDir) });
  const { container_id: id } = await call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('app', command, extra) });
  await call('StartContainer', { container_id: id });
  return { pod, id };
}

const status = (s: string): { status: string; reason?: string; details?: { causes: Array<{ reason: string; message: string }> } } => JSON.parse(s);

t.test('exec over SPDY: stdout and stderr apart, stdin, the exit code in the status', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { id } = await podWith(e.call, e.logDir, ['sleep', '1000']);
  const { url } = await e.call('Exec', { container_id: id, cmd: ['sh', '-c', 'read line; echo "out:$line"; echo err >&2; exit 3'], stdin: true, stdout: true, stderr: true });
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
  const c = await SpdyClient.connect(url, ['v4.channel.k8s.io', 'v3.channel.k8s.io']);
  t.equal(c.protocol, 'v4.channel.k8s.io');
  const error = await c.open({ streamtype: 'error' });
  const stdin = await c.open({ streamtype: 'stdin' });
  const stdout = await c.open({ streamtype: 'stdout' });
  const stderr = await c.open({ streamtype: 'stderr' });
  stdin.write('hello\n');
  stdin.end();
  await error.ended;
  await Promise.all([stdout.ended, stderr.ended]);
  t.equal(stdout.text(), 'out:hello\n');
  t.equal(stderr.text(), 'err\n');
  t.match(status(error.text()), { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  await c.closed;

  const again = await SpdyClient.connect(url, ['v4.channel.k8s.io']).then(() => 0, (err: { status: number }) => err.status);
  t.equal(again, 404, 'a URL is good for one session');
  const unknown = await SpdyClient.connect(url.replace(/[^/]+$/, 'nope'), ['v4.channel.k8s.io']).then(() => 0, (err: { status: number }) => err.status);
  t.equal(unknown, 404);
});

t.test('exec with a tty over SPDY: the terminal, resized by the client', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { id } = await podWith(e.call, e.logDir, ['sleep', '1000']);
  const { url } = await e.call('Exec', { container_id: id, cmd: ['sh', '-c', 'read x; stty size; tty'], stdin: true, stdout: true, tty: true });
  const c = await SpdyClient.connect(url, ['v4.channel.k8s.io']);
  const error = await c.open({ streamtype: 'error' });
  const stdin = await c.open({ streamtype: 'stdin' });
  const stdout = await c.open({ streamtype: 'stdout' });
  const resize = await c.open({ streamtype: 'resize' });
  resize.write(`${JSON.stringify({ Width: 91, Height: 27 })}\n`);
  await new Promise((r) => setTimeout(r, 200)); // the size lands before the input that prints it
  stdin.write('go\r');
  await error.ended;
  await stdout.ended;
  t.match(stdout.text(), /27 91\r\n\/dev\/pts\/\d+\r\n/);
  t.same(status(error.text()), { metadata: {}, status: 'Success' });
});

t.test('exec over WebSocket v5: channels by first byte, stdin closed by a close message', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { id } = await podWith(e.call, e.logDir, ['sleep', '1000']);
  const { url } = await e.call('Exec', { container_id: id, cmd: ['sh', '-c', 'cat; echo done >&2; exit 4'], stdin: true, stdout: true, stderr: true });
  const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  const got: Record<number, string> = {};
  const closed: number[] = [];
  ws.on('message', (d: Buffer) => {
    if (d[0] === 255) closed.push(d[1]);
    else got[d[0]] = (got[d[0]] ?? '') + d.subarray(1).toString();
  });
  await new Promise((r) => ws.once('open', r));
  t.equal(ws.protocol, 'v5.channel.k8s.io');
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('from stdin\n')]));
  ws.send(Buffer.from([255, 0]));
  await new Promise((r) => ws.once('close', r));
  t.equal(got[1], 'from stdin\n');
  t.equal(got[2], 'done\n');
  t.match(status(got[3]), { reason: 'NonZeroExitCode', details: { causes: [{ message: '4' }] } });
  t.ok(closed.includes(1) && closed.includes(2), 'stdout and stderr closed');
});

t.test('a client that goes away takes its exec with it', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { id } = await podWith(e.call, e.logDir, ['sleep', '1000']);
  const { url } = await e.call('Exec', { container_id: id, cmd: ['sleep', '777'], stdout: true });
  const c = await SpdyClient.connect(url, ['v4.channel.k8s.io']);
  await c.open({ streamtype: 'error' });
  await c.open({ streamtype: 'stdout' });
  const running = async () => (await e.call('ExecSync', { container_id: id, cmd: ['sh', '-c', 'ps -o args | grep -c "^sleep 777" || true'], timeout: 10 })).stdout.toString().trim();
  await waitFor(async () => (await running()) === '1', 'the exec to run');
  c.close();
  await waitFor(async () => (await running()) === '0', 'the exec to be killed');
  t.pass('killed');
});

t.test('attach over SPDY: the container\'s output and our input to its stdin', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { id } = await podWith(e.call, e.logDir, ['sh', '-c', 'while read l; do echo "got $l"; done'], { stdin: true });
  const { url } = await e.call('Attach', { container_id: id, stdin: true, stdout: true, stderr: true });
  const c = await SpdyClient.connect(url, ['v4.channel.k8s.io']);
  await c.open({ streamtype: 'error' });
  const stdin = await c.open({ streamtype: 'stdin' });
  const stdout = await c.open({ streamtype: 'stdout' });
  await c.open({ streamtype: 'stderr' });
  stdin.write('one\n');
  await waitFor(async () => stdout.text().includes('got one'), 'the echo');
  t.equal(stdout.text(), 'got one\n');
  c.close();
  const noStdin = await e.call('Attach', { container_id: (await podWith(e.call, e.logDir, ['sleep', '100'])).id, stdin: true, stdout: true }).then(() => 0, (err: grpcTypes.ServiceError) => err.code);
  t.equal(noStdin, grpc.status.INVALID_ARGUMENT, 'stdin of a container created without it');
});

t.test('port-forward over SPDY into a loopback-only pod', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { pod } = await podWith(e.call, e.logDir, ['sh', '-c', 'mkdir -p /www && echo forwarded > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www']);
  const { url } = await e.call('PortForward', { pod_sandbox_id: pod, port: [8080] });
  const c = await SpdyClient.connect(url, ['portforward.k8s.io']);
  t.equal(c.protocol, 'portforward.k8s.io');
  const get = async (requestId: string): Promise<string> => {
    const error = await c.open({ streamtype: 'error', port: '8080', requestid: requestId });
    const data = await c.open({ streamtype: 'data', port: '8080', requestid: requestId });
    data.write('GET /index.html HTTP/1.0\r\n\r\n');
    await data.ended;
    await error.ended;
    t.equal(error.text(), '', 'no error');
    return data.text();
  };
  await waitFor(async () => (await get(`${Date.now()}`)).endsWith('forwarded\n'), 'httpd to answer through the forward', 10_000);
  t.match(await get('second'), /^HTTP\/1\.[01] 200 OK/);
  const error = await c.open({ streamtype: 'error', port: '9999', requestid: 'x' });
  const data = await c.open({ streamtype: 'data', port: '9999', requestid: 'x' });
  await error.ended;
  await data.ended;
  t.match(error.text(), /port 9999 was not asked for/);
  c.close();
});

t.test('streaming requests checked at the RPC', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const { id, pod } = await podWith(e.call, e.logDir, ['sleep', '1000']);
  const code = (p: Promise<unknown>) => p.then(() => 0, (err: grpcTypes.ServiceError) => err.code);
  t.equal(await code(e.call('Exec', { container_id: id, cmd: ['true'], tty: true, stdout: true, stderr: true })), grpc.status.INVALID_ARGUMENT, 'tty and stderr');
  t.equal(await code(e.call('Exec', { container_id: id, cmd: [], stdout: true })), grpc.status.INVALID_ARGUMENT, 'no command');
  t.equal(await code(e.call('Exec', { container_id: 'f'.repeat(64), cmd: ['true'], stdout: true })), grpc.status.NOT_FOUND);
  t.equal(await code(e.call('PortForward', { pod_sandbox_id: pod, port: [70000] })), grpc.status.INVALID_ARGUMENT);
  await e.call('StopContainer', { container_id: id, timeout: 0 });
  t.equal(await code(e.call('Exec', { container_id: id, cmd: ['true'], stdout: true })), grpc.status.FAILED_PRECONDITION, 'a stopped container');
});
