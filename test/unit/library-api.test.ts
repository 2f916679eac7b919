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
  const parsed = podrun.parsePodManifest('apiVersion: v1\nkind: Pod\nmetadata: { name: x }\nspec: { containers: [{ name: c, image: busybox }] }\n', 'x.yaml');
  t.equal(parsed.pod.metadata.name, 'x');
});
