/** The library's pod and network API, as the README shows it: exported from
 * the package root, typed (this file must compile), no global state. */
import t from 'tap';
import * as podrun from '../../src/index';

t.test('the pod and network calls are exported from the package root', async (t) => {
  for (const name of ['startPod', 'pods', 'podStatus', 'inspectPod', 'execInPod', 'podLogs', 'stopPod', 'removePod', 'podStats', 'gcPods', 'waitPod', 'watchPod', 'parsePodManifest', 'initNetwork', 'loadNetworks', 'addNetwork', 'delNetwork']) {
    t.equal(typeof (podrun as Record<string, unknown>)[name], 'function', name);
  }
  // compile-time: the README's calls type-check
  const use = async (): Promise<void> => {
    const pod = await podrun.startPod('web.yaml', { network: 'podrun', onWarning: console.warn });
    const ip: string | undefined = podrun.podStatus(pod.id).status.podIP;
    const r: podrun.ExecResult = await podrun.execInPod('web', 'server', ['cat', '/etc/hostname']);
    await podrun.watchPod('web', (e: podrun.PodEvent & { time: string }) => console.log(e.time, e.type), { signal: AbortSignal.timeout(5000) });
    const done = await podrun.waitPod('web', { timeoutMs: 1000 });
    void done.status.phase;
    await podrun.stopPod('web', { time: 5 });
    await podrun.removePod('web', { force: true });
    void ip;
    void r;
  };
  t.equal(typeof use, 'function');
  // compile-time: the README's client example type-checks
  const client = async (): Promise<void> => {
    const c = new podrun.Podrun({ onWarning: console.warn });
    await using pod = await c.pod('web').container({ image: 'nginx:1.27', ports: [80] }).start({ waitFor: podrun.Wait.forHttp('/', 80), timeoutMs: 30_000 });
    const { url } = await pod.port(80);
    await fetch(url('/'));
    const r: podrun.ExecText = await pod.exec(['nginx', '-v']);
    const b: Buffer = (await pod.exec(['cat', '/x'], { encoding: 'buffer' })).stdout;
    for await (const line of pod.logLines({ follow: true })) if (line.includes('GET /')) break;
    await pod.copyTo('/etc/nginx/conf.d/x.conf', { content: 'server {}' });
    void r.exitCode;
    void b;
  };
  t.equal(typeof client, 'function');
  for (const name of ['Podrun', 'Pod', 'PodBuilder', 'PodrunError']) t.equal(typeof (podrun as Record<string, unknown>)[name], 'function', name);
  t.same(Object.keys(podrun.Wait).sort(), ['forAll', 'forHttp', 'forListeningPort', 'forLogMessage', 'forReady', 'forSuccessfulCommand']);
  const parsed = podrun.parsePodManifest('apiVersion: v1\nkind: Pod\nmetadata: { name: x }\nspec: { containers: [{ name: c, image: busybox }] }\n', 'x.yaml');
  t.equal(parsed.pod.metadata.name, 'x');
});
