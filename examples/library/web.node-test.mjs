// A test that needs a web server, written with node's test runner and podrun's library: no Docker, no daemon.
// Run it as root: `node --test examples/library/web.node-test.mjs` (podrun's state in /run/podrun and
// /var/lib/podrun, or $PODRUN_RUNROOT and $PODRUN_DATA_ROOT).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Podrun, Wait } from 'podrun';

const podrun = new Podrun();
const image = 'localhost/podrun/busybox';

before(async () => {
  // the fixture image of podrun's repository (`npm run fixtures`); a registry image works the same way
  await podrun.load(path.join(import.meta.dirname, '../../rootfs-fixtures/.out/images/busybox-gzip'), { name: image });
});

let pod;
after(() => pod?.remove());

test('the server answers what the init container wrote', async () => {
  const www = [{ name: 'www', mountPath: '/www' }];
  pod = await podrun.pod('example-web')
    .spec({ volumes: [{ name: 'www', emptyDir: {} }] })
    .initContainer({ name: 'content', image, command: ['sh', '-c', 'echo "hello from $HOSTNAME" > /www/index.html'], spec: { volumeMounts: www } })
    .container({ name: 'web', image, command: ['httpd', '-f', '-v', '-p', '8080', '-h', '/www'], ports: [8080], spec: { volumeMounts: www } })
    .start({ waitFor: Wait.forHttp('/', 8080), timeoutMs: 10_000 });

  // the pod has no network but loopback: pod.port() forwards a port of 127.0.0.1 into it
  const web = await pod.port(8080);
  assert.equal(await (await fetch(web.url('/'))).text(), 'hello from example-web\n');

  const { exitCode, stdout } = await pod.exec(['cat', '/www/index.html']);
  assert.equal(exitCode, 0);
  assert.match(stdout, /^hello/);

  await pod.copyTo('/www/extra.txt', { content: 'copied in\n' });
  assert.equal(await (await fetch(web.url('/extra.txt'))).text(), 'copied in\n');
});
