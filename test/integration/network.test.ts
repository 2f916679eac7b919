/** Pod networking through Debian's CNI plugins (bridge, host-local, portmap,
 * firewall), as root. Every test makes its own "host" network namespace and
 * runs podrun inside it (nsenter --net), so the bridge, the routes and the
 * iptables rules live there; the machine's own network is never touched. */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { fixtures, pinnedNamespace, podrunBin, removeAllPods, repoRoot, runCmd, snapshotHost, tempDir } from '../helpers';

const BUSYBOX = 'localhost/podrun/busybox';

async function env(t: Test, subnet = '10.123.0.0/24') {
  const fx = await fixtures();
  const hostNs = await pinnedNamespace(t, 'net', 'ip', 'link', 'set', 'lo', 'up');
  const dataRoot = await tempDir(t, 'podrun-data-');
  const runRoot = await tempDir(t, 'podrun-run-');
  const confDir = await tempDir(t, 'podrun-cni-');
  const ipamDir = path.join(dataRoot, 'ipam');
  const bridge = `prt${Math.random().toString(16).slice(2, 8)}`;
  fs.writeFileSync(path.join(confDir, '10-ptest.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'ptest',
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  }));
  const inHost = (cmd: string, args: string[]) => runCmd('nsenter', [`--net=${hostNs}`, cmd, ...args]);
  const podrun = (...args: string[]) => inHost(podrunBin, ['--data-root', dataRoot, '--runroot', runRoot, '--cni-conf-dir', confDir, ...args]);
  // teardowns run last-in first-out: this one, registered after the dirs and the netns, goes first
  t.teardown(() => removeAllPods(podrun));
  const load = await podrun('load', '-q', '--name', BUSYBOX, fx.images['busybox-gzip']);
  if (load.code !== 0) throw new Error(load.stderr);
  const manifest = (name: string, yaml: string): string => {
    const f = path.join(dataRoot, `${name}.yaml`);
    fs.writeFileSync(f, yaml);
    return f;
  };
  /** an HTTP GET with busybox nc (busybox's static wget crashes in getaddrinfo) */
  const httpGet = async (ip: string, port: number) => (await inHost('sh', ['-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} ${port}`])).stdout.split('\r\n\r\n')[1] ?? '';
  const leases = () => (fs.existsSync(path.join(ipamDir, 'ptest')) ? fs.readdirSync(path.join(ipamDir, 'ptest')).filter((n) => /^\d/.test(n) && !n.startsWith('last_reserved')) : []);
  const links = async () => (await inHost('ip', ['-o', 'link'])).stdout.split('\n').filter(Boolean).map((l) => l.split(': ')[1].split('@')[0]);
  const rules = async () => (await inHost('iptables-save', [])).stdout.split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':')).sort();
  return { hostNs, dataRoot, runRoot, confDir, bridge, podrun, inHost, manifest, httpGet, leases, links, rules };
}

const webPod = (name: string, hostPort?: number) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - name: web
      image: ${BUSYBOX}
      command: [sh, -c, 'mkdir -p /www && echo "hello from $HOSTNAME at $POD_IP" > /www/index.html && exec httpd -f -p 8080 -h /www']
      env: [{ name: POD_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }]
      ports: [{ containerPort: 8080${hostPort ? `, hostPort: ${hostPort}` : ''} }]
`;

interface Inspected { network?: string; status: { phase: string; podIP?: string; podIPs?: Array<{ ip: string }> } }

t.test('two pods on a CNI bridge: distinct IPs, reach each other, reached from the host by pod IP and hostPort', async (t) => {
  const e = await env(t);
  const before = await snapshotHost();
  const a = await e.podrun('start', '--network', 'ptest', e.manifest('a', webPod('alpha', 18080)));
  t.equal(a.code, 0, a.stderr);
  const b = await e.podrun('start', '--network', 'ptest', e.manifest('b', webPod('beta')));
  t.equal(b.code, 0, b.stderr);
  const ia = JSON.parse((await e.podrun('inspect', 'alpha')).stdout) as Inspected;
  const ib = JSON.parse((await e.podrun('inspect', 'beta')).stdout) as Inspected;
  t.match(ia.status.podIP, /^10\.123\.0\.\d+$/, 'status.podIP from the CNI result');
  t.match(ib.status.podIP, /^10\.123\.0\.\d+$/);
  t.not(ia.status.podIP, ib.status.podIP, 'distinct IPs');
  t.same(ia.status.podIPs, [{ ip: ia.status.podIP }]);
  t.equal(ia.network, 'ptest');
  t.match((await e.podrun('ps')).stdout, new RegExp(`alpha\\s+[0-9a-f]{12}\\s+1/1\\s+Running\\s+0\\s+${ia.status.podIP?.replace(/\./g, '\\.')}`), 'ps shows the IP');
  t.equal(e.leases().length, 2, 'two host-local leases');

  // pod to pod, over the bridge
  const fromB = await e.podrun('exec', 'beta', '--', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ia.status.podIP} 8080`);
  t.match(fromB.stdout, `hello from alpha at ${ia.status.podIP}`, 'beta reaches alpha by its pod IP (and alpha got status.podIP in its env)');
  // the test host to the pods: by pod IP, and through alpha's hostPort on the bridge address
  t.equal(await e.httpGet(ib.status.podIP as string, 8080), `hello from beta at ${ib.status.podIP}\n`, 'host → pod IP');
  t.equal(await e.httpGet('10.123.0.1', 18080), `hello from alpha at ${ia.status.podIP}\n`, 'host → hostPort → pod');
  t.match((await e.podrun('exec', 'alpha', '--', 'cat', '/etc/hosts')).stdout, new RegExp(`^${ia.status.podIP?.replace(/\./g, '\\.')}\\talpha$`, 'm'), '/etc/hosts carries the pod IP');
  t.match((await e.podrun('exec', 'alpha', '--', 'ip', '-o', '-4', 'addr', 'show', 'eth0')).stdout, `inet ${ia.status.podIP}/24`, 'eth0 inside the pod');

  const net = JSON.parse((await e.podrun('network', 'inspect', 'ptest')).stdout) as { plugins: Array<{ type: string; supportedVersions: string[] }>; pods: Array<{ name: string; ips: string[] }> };
  t.same(net.plugins.map((p) => p.type), ['bridge', 'portmap', 'firewall']);
  t.ok(net.plugins.every((p) => p.supportedVersions.includes('1.0.0')), 'VERSION: every plugin speaks CNI 1.0.0');
  t.same(net.pods.map((p) => p.name).sort(), ['alpha', 'beta'], 'inspect lists the attached pods');
  t.ok(net.plugins.every((p) => /STATUS not supported/.test((p as { status?: string }).status ?? '')), 'STATUS only where a plugin speaks CNI 1.1');

  // beta: Debian's portmap 1.1.1 fails CHECK of any hostPort mapping on hosts without IPv6 NAT rules
  // (containernetworking/plugins#819, fixed upstream later)
  const check = await e.podrun('network', 'check', 'beta');
  t.equal(check.code, 0, check.stderr);
  t.match(check.stdout, `beta: ptest ok (${ib.status.podIP})`, 'CHECK passes on a healthy attachment');
  const betaId = (JSON.parse((await e.podrun('inspect', 'beta')).stdout) as { id: string }).id;
  await runCmd('nsenter', [`--net=${path.join(e.runRoot, 'pods', betaId, 'ns', 'net')}`, 'ip', 'route', 'del', 'default']);
  const broken = await e.podrun('network', 'check', 'beta');
  t.equal(broken.code, 1, 'CHECK fails once the pod lost its default route');
  t.match(broken.stderr, /CNI plugin \w+ CHECK failed/);

  for (const p of ['alpha', 'beta']) t.equal((await e.podrun('rm', '-f', p)).code, 0);
  t.same(e.leases(), [], 'DEL freed the leases');
  t.same((await e.links()).filter((l) => l.startsWith('veth')), [], 'no veths left');
  t.notMatch((await e.inHost('iptables-save', [])).stdout, /18080|10\.123\.0\.\d+\/32/, 'no per-pod port or masquerade rules left');
  t.same(fs.readdirSync(path.join(e.dataRoot, 'cni', 'results')), [], 'no cached attachments');
  t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left');
});

t.test('100 ADD/DEL cycles on a /28 reuse the leases: no leases, veths or iptables rules pile up', async (t) => {
  const e = await env(t, '10.124.0.0/28'); // 13 usable addresses: a leaked lease would run out
  const once = await e.inHost('node', [path.join(repoRoot, 'dist/test/support/cni-cycles.js'), e.confDir, 'ptest', e.dataRoot, '1']);
  t.equal(once.code, 0, once.stderr);
  const baseline = { rules: await e.rules(), links: await e.links() }; // the bridge and the plugins' shared chains exist from here on
  const r = await e.inHost('node', [path.join(repoRoot, 'dist/test/support/cni-cycles.js'), e.confDir, 'ptest', e.dataRoot, '100']);
  t.equal(r.code, 0, r.stderr);
  const ips = JSON.parse(r.stdout || '[]') as string[];
  t.equal(ips.length, 100, '100 ADDs got an address');
  t.ok(new Set(ips).size <= 13, `addresses reused (${new Set(ips).size} distinct in a /28)`);
  t.same(e.leases(), [], 'no leases left');
  t.same(await e.links(), baseline.links, 'no veths left');
  t.same(await e.rules(), baseline.rules, 'no iptables rules left');
});

t.test('hostNetwork pods see the host netns; loopback-only pods only lo; hostPort needs a network', async (t) => {
  const e = await env(t);
  const before = await snapshotHost();
  const host = await e.podrun('start', '--network', 'ptest', e.manifest('h', `
apiVersion: v1
kind: Pod
metadata: { name: onhost }
spec:
  hostNetwork: true
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: ${BUSYBOX}, command: [sleep, '60'], ports: [{ containerPort: 9000, hostPort: 9000 }] }]
`));
  t.equal(host.code, 0, host.stderr);
  await e.inHost('ip', ['link', 'add', `${e.bridge}d`, 'type', 'bridge']);
  const links = (await e.podrun('exec', 'onhost', '--', 'ip', '-o', 'link')).stdout;
  t.match(links, `${e.bridge}d`, 'the test host netns interfaces are visible');
  t.same(e.leases(), [], 'hostNetwork skips CNI');
  t.notOk((JSON.parse((await e.podrun('inspect', 'onhost')).stdout) as Inspected).status.podIP);

  const lo = await e.podrun('start', e.manifest('l', webPod('loonly')));
  t.equal(lo.code, 0, lo.stderr);
  t.same((await e.podrun('exec', 'loonly', '--', 'ip', '-o', 'link')).stdout.split('\n').filter(Boolean).map((l) => l.split(': ')[1]), ['lo'], 'no --network: loopback only');

  const refused = await e.podrun('start', e.manifest('r', webPod('refused', 18081)));
  t.equal(refused.code, 1);
  t.match(refused.stderr, /spec\.containers\[0\]\.ports\[0\]\.hostPort: a hostPort needs a network that forwards ports \(podrun start --network NAME; podrun network init writes one\)/);
  const unknown = await e.podrun('start', '--network', 'nope', e.manifest('u', webPod('unknown')));
  t.match(unknown.stderr, /CNI network nope is not configured in .* \(offered: ptest\)/);
  for (const p of ['onhost', 'loonly']) t.equal((await e.podrun('rm', '-f', p)).code, 0);
  t.same(fs.readdirSync(path.join(e.runRoot, 'pods')), [], 'refused starts left nothing');
  t.same(await snapshotHost(), before);
});

t.test('kill -9 of a networked start at random points, then gc: leases, veths and attachments are freed', async (t) => {
  const e = await env(t);
  const before = await snapshotHost();
  const f = e.manifest('k', webPod('killed', 18082));
  for (let i = 0; i < 12; i++) {
    let pid = 0;
    const p = runCmd('nsenter', [`--net=${e.hostNs}`, podrunBin, '--data-root', e.dataRoot, '--runroot', e.runRoot, '--cni-conf-dir', e.confDir, 'start', '--network', 'ptest', f], { onSpawn: (x) => (pid = x) });
    await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 400)));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* done already */
    }
    await p;
    t.equal((await e.podrun('gc')).code, 0);
    await e.podrun('rm', '-f', 'killed'); // a start that finished is a live pod: gc leaves it
  }
  t.same(e.leases(), [], 'no leases');
  t.same((await e.links()).filter((l) => l.startsWith('veth')), [], 'no veths');
  t.same(fs.existsSync(path.join(e.dataRoot, 'cni', 'results')) ? fs.readdirSync(path.join(e.dataRoot, 'cni', 'results')) : [], [], 'no cached attachments');
  t.notMatch((await e.inHost('iptables-save', [])).stdout, /18082/, 'no hostPort rules');
  t.same(await snapshotHost(), before);
});

t.test('network init writes the default network only when asked; ls lists it', async (t) => {
  const dir = await tempDir(t, 'podrun-netinit-');
  const p = (...a: string[]) => runCmd(podrunBin, ['--cni-conf-dir', dir, ...a]);
  t.same(fs.readdirSync(dir), [], 'nothing written by other commands');
  const init = await p('network', 'init');
  t.equal(init.code, 0, init.stderr);
  t.equal(init.stdout, `podrun ${path.join(dir, '87-podrun.conflist')}\n`);
  const again = await p('network', 'init');
  t.equal(again.code, 1);
  t.match(again.stderr, /network podrun already exists in .*87-podrun\.conflist \(--force replaces it\)/);
  t.equal((await p('network', 'init', '--name', 'second', '--bridge', 'podrun1', '--subnet', '10.91.0.0/16')).code, 0);
  fs.writeFileSync(path.join(dir, '99-broken.conflist'), '{"name": "broken", "plugins": []}');
  const ls = await p('network', 'ls');
  t.match(ls.stdout, /^NAME\s+VERSION\s+PLUGINS\s+FILE\npodrun\s+1\.0\.0\s+bridge,portmap,firewall\s+\S+87-podrun\.conflist\nsecond\s+1\.0\.0/);
  t.match(ls.stderr, /99-broken\.conflist: invalid CNI network configuration/);
  const bad = await p('network', 'init', '--subnet', 'ten');
  t.match(bad.stderr, /subnet ten: expected an IPv4 CIDR/);
});

t.test('the library on a CNI network: pod.port() is the pod IP, or a forward when asked', async (t) => {
  const e = await env(t, '10.124.0.0/24');
  const script = path.join(e.dataRoot, 'client.js');
  fs.writeFileSync(script, `
const { Podrun, Wait } = require(${JSON.stringify(path.join(repoRoot, 'dist/src/index.js'))});
(async () => {
  const podrun = new Podrun({ root: ${JSON.stringify(e.runRoot)}, dataRoot: ${JSON.stringify(e.dataRoot)}, network: 'ptest', cniConfDir: ${JSON.stringify(e.confDir)} });
  const pod = await podrun.pod('libweb').container({ image: '${BUSYBOX}', command: ['sh', '-c', 'mkdir /www; echo "pod $POD_IP" > /www/index.html; exec httpd -f -p 8080 -h /www'], env: {}, ports: [8080],
    spec: { env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] } }).start({ waitFor: Wait.forHttp('/', 8080), owned: false });
  const direct = await pod.port(8080);
  const forwarded = await pod.port(8080, { via: 'forward' });
  const get = async (a) => (await fetch(a.url('/'))).text();
  console.log(JSON.stringify({ ip: pod.podStatus().podIP, direct: { host: direct.host, port: direct.port, body: await get(direct) }, forwarded: { host: forwarded.host, body: await get(forwarded) } }));
  await pod.remove();
})().catch((err) => { console.error(err); process.exit(1); });
`);
  const r = await e.inHost(process.execPath, [script]);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ip: string; direct: { host: string; port: number; body: string }; forwarded: { host: string; body: string } };
  t.match(out.ip, /^10\.124\.0\.\d+$/);
  t.same(out.direct, { host: out.ip, port: 8080, body: `pod ${out.ip}\n` }, 'the pod IP itself, reached from the (test\'s) host namespace');
  t.same(out.forwarded, { host: '127.0.0.1', body: `pod ${out.ip}\n` }, 'or a forward from 127.0.0.1');
  t.same(e.leases(), [], 'its lease freed at remove');
});
