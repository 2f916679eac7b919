// The same kind of test with tap and CommonJS: a pod with a server and a client talking over localhost, a wait
// for a log line, and `t.teardown` removing the pod (owned pods are also removed by podrun should this process be
// killed). Run as root: `npx tap examples/library/web.tap.cjs` or `node examples/library/web.tap.cjs`.
const path = require('node:path');
const t = require('tap');
const { Podrun, Wait } = require('podrun');

const podrun = new Podrun();
const image = 'localhost/podrun/busybox';

t.before(() => podrun.load(path.join(__dirname, '../../rootfs-fixtures/.out/images/busybox-gzip'), { name: image }));

t.test('containers of a pod share localhost', async (t) => {
  const pod = await podrun.pod('example-duo')
    .container({ name: 'server', image, command: ['sh', '-c', 'echo pong > /tmp/ping; exec httpd -f -p 9000 -h /tmp'] })
    .container({ name: 'client', image, command: ['sh', '-c', 'until wget -qO- http://127.0.0.1:9000/ping 2>/dev/null; do sleep 0.1; done; exec sleep 300'] })
    .start({ waitFor: Wait.forLogMessage('pong', { container: 'client' }), timeoutMs: 10_000 });
  t.teardown(() => pod.remove());

  t.equal(await pod.logs({ container: 'client' }), 'pong\n');
  const r = await pod.exec(['sh', '-c', 'echo $0 $HOSTNAME; exit 3', 'in'], { container: 'client' });
  t.same({ exitCode: r.exitCode, stdout: r.stdout }, { exitCode: 3, stdout: 'in example-duo\n' });
  t.equal(pod.podStatus().phase, 'Running');
});
