/** CNI configuration handling: parsing, validation, plugin stdin, pod ports. Pure (plus a temp dir). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  defaultConflist, findNetwork, kubernetesCniArgs, loadNetworks, parseNetworkConfig, pluginInput, resultIPs, type NetworkConfList,
} from '../../src/network';
import { parsePodManifest } from '../../src/pod/manifest';
import { portMappingsOf } from '../../src/pod/pod-network';

const LIST: NetworkConfList = {
  cniVersion: '1.0.0',
  name: 'testnet',
  plugins: [
    { type: 'bridge', bridge: 'br0', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'tuning', capabilities: { portMappings: false } },
  ],
};

t.test('a .conflist parses; a single .conf becomes a one-plugin list', async (t) => {
  t.same(parseNetworkConfig(JSON.stringify(LIST), 'a.conflist'), LIST);
  const single = parseNetworkConfig(JSON.stringify({ cniVersion: '0.4.0', name: 'one', type: 'bridge', bridge: 'x' }), 'b.conf');
  t.same(single, { cniVersion: '0.4.0', name: 'one', plugins: [{ type: 'bridge', bridge: 'x' }] });
});

t.test('invalid configurations name the file and the field', async (t) => {
  t.throws(() => parseNetworkConfig('{', 'x.conflist'), /x\.conflist: not JSON/);
  t.throws(() => parseNetworkConfig(JSON.stringify({ ...LIST, plugins: [] }), 'x.conflist'), /x\.conflist: invalid CNI network configuration:\n {2}plugins: must NOT have fewer than 1 items/);
  t.throws(() => parseNetworkConfig(JSON.stringify({ ...LIST, name: 'bad name' }), 'x.conflist'), /name: must start with a letter or digit/);
  t.throws(() => parseNetworkConfig(JSON.stringify({ ...LIST, plugins: [{ type: '../../bin/sh' }] }), 'x.conflist'), /plugins\[0\]\.type/);
  t.throws(() => parseNetworkConfig(JSON.stringify({ name: 'n', type: 'bridge' }), 'y.conf'), /y\.conf: invalid CNI network configuration:\n {2}cniVersion/);
});

t.test('plugin stdin: name and version from the list, runtimeConfig only for declared capabilities, prevResult', async (t) => {
  const ports = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }] };
  const bridge = pluginInput(LIST, LIST.plugins[0], ports);
  t.same(bridge, { ...LIST.plugins[0], cniVersion: '1.0.0', name: 'testnet' }, 'bridge declares no capability: no runtimeConfig');
  const pm = pluginInput(LIST, LIST.plugins[1], ports, { ips: [{ address: '10.1.0.2/24' }] });
  t.same(pm.runtimeConfig, ports);
  t.same(pm.prevResult, { ips: [{ address: '10.1.0.2/24' }] });
  t.notOk('runtimeConfig' in pluginInput(LIST, LIST.plugins[2], ports), 'a capability set to false is not passed');
  t.notOk('runtimeConfig' in pluginInput(LIST, LIST.plugins[1], {}), 'no mappings, no runtimeConfig');
});

t.test('CNI_ARGS as kubelet passes them; pod IPs from a result', async (t) => {
  t.equal(kubernetesCniArgs({ name: 'web', namespace: 'default', id: 'abc' }), 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=abc');
  const result = {
    interfaces: [{ name: 'br0', mac: 'x' }, { name: 'veth1', mac: 'y' }, { name: 'eth0', mac: 'z', sandbox: '/run/ns' }],
    ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1', interface: 2 }, { address: 'fd00::5/64', interface: 2 }, { address: '10.1.0.1/24', interface: 0 }],
  };
  t.same(resultIPs(result, 'eth0'), ['10.1.0.5', 'fd00::5'], 'only the pod interface\'s addresses');
  t.same(resultIPs(undefined, 'eth0'), []);
});

t.test('hostPorts become portMappings with their field paths', async (t) => {
  const { pod } = parsePodManifest(`
apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  containers:
    - name: a
      image: x
      ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 10.0.0.1 }, { containerPort: 9000 }]
`, 'p.yaml');
  t.same(portMappingsOf(pod), [
    { field: 'spec.containers[0].ports[0].hostPort', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { field: 'spec.containers[0].ports[1].hostPort', hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '10.0.0.1' },
  ]);
});

t.test('a configuration directory: lexical order, invalid files reported, lookup by name', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-cni-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, '20-b.conflist'), JSON.stringify({ ...LIST, name: 'b' }));
  fs.writeFileSync(path.join(dir, '10-a.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'a', type: 'bridge' }));
  fs.writeFileSync(path.join(dir, '30-bad.conflist'), '{"name": "bad"}');
  fs.writeFileSync(path.join(dir, 'README'), 'not a config');
  const loaded = loadNetworks(dir);
  t.same(loaded.networks.map((n) => n.network.name), ['a', 'b']);
  t.equal(loaded.invalid.length, 1);
  t.match(loaded.invalid[0].error, /30-bad\.conflist: invalid CNI network configuration/);
  t.equal(findNetwork(dir, 'b').file, path.join(dir, '20-b.conflist'));
  t.throws(() => findNetwork(dir, 'zzz'), /CNI network zzz is not configured in .* \(offered: a, b\)/);
  t.same(loadNetworks(path.join(dir, 'missing')), { networks: [], invalid: [] }, 'no directory: no networks');
});

t.test('the default network validates and uses bridge, host-local, portmap, firewall', async (t) => {
  const d = defaultConflist({ name: 'podrun', bridge: 'podrun0', subnet: '10.90.0.0/16' });
  t.same(parseNetworkConfig(JSON.stringify(d), 'default'), d);
  t.same(d.plugins.map((p) => p.type), ['bridge', 'portmap', 'firewall']);
});
