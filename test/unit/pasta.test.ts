/** Rootless pods' network through pasta: its command line, what it refuses, the pod's addresses (pure parts). */
import t from 'tap';
import { defaultRouteInterface, pastaArgs, pastaErrors, pastaPodIPs } from '../../src/network/pasta';

const port = (field: string, hostPort: number, containerPort: number, protocol: 'tcp' | 'udp' | 'sctp' = 'tcp', hostIP?: string) =>
  ({ field, hostPort, containerPort, protocol, ...(hostIP ? { hostIP } : {}) });

t.test('pastaArgs: only the hostPorts asked are forwarded, nothing from the pod to the host', async (t) => {
  const args = pastaArgs({
    netns: '/run/user/1000/podrun/pods/abc/ns/net', pidFile: '/home/u/.local/share/podrun/pods/abc/pasta.pid', ifName: 'eth0',
    ports: [port('a', 18080, 80), port('b', 18443, 443, 'tcp', '127.0.0.1'), port('c', 15353, 53, 'udp')],
  });
  t.same(args, [
    '--config-net', '--netns', '/run/user/1000/podrun/pods/abc/ns/net', '--ns-ifname', 'eth0',
    '--quiet', '--pid', '/home/u/.local/share/podrun/pods/abc/pasta.pid',
    '--no-map-gw', '--tcp-ns', 'none', '--udp-ns', 'none',
    '--tcp-ports', '18080:80', '--tcp-ports', '127.0.0.1/18443:443', '--udp-ports', '15353:53',
  ]);
  // no ports: pasta's default ("auto": every port the pod binds) must not apply
  const none = pastaArgs({ netns: '/n', pidFile: '/p', ifName: 'eth0', ports: [] });
  t.same(none.slice(-4), ['--tcp-ports', 'none', '--udp-ports', 'none']);
  t.notOk(none.includes('auto'));
});

t.test('pastaErrors: SCTP, privileged ports and root refused by field', async (t) => {
  t.same(pastaErrors([port('spec.containers[0].ports[0].hostPort', 8080, 80)], 1024, true), []);
  t.same(pastaErrors([port('spec.containers[0].ports[0].hostPort', 80, 80), port('spec.containers[0].ports[1].hostPort', 9000, 9000, 'sctp')], 1024, true), [
    'spec.containers[0].ports[0].hostPort: 80 is below net.ipv4.ip_unprivileged_port_start (1024): rootless, only root may bind it',
    'spec.containers[0].ports[1].hostPort: protocol SCTP: pasta forwards TCP and UDP only',
  ]);
  t.same(pastaErrors([port('f', 80, 80)], 0, true), [], 'a host that lets users bind low ports');
  t.match(pastaErrors([], 1024, false), [/^network pasta: for rootless podrun; as root, attach pods to a CNI network/]);
});

t.test("the pod's addresses: the host's on its default route's interface", async (t) => {
  const route = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth1\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
  t.equal(defaultRouteInterface(route), 'eth0');
  t.equal(defaultRouteInterface(route.split('\n').slice(0, 2).join('\n')), undefined, 'no default route');
  const a = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as never;
  t.same(pastaPodIPs(route, { lo: [a('127.0.0.1', 'IPv4', true)], eth0: [a('fe80::1', 'IPv6'), a('fd00::2', 'IPv6'), a('192.0.2.2', 'IPv4')] }),
    ['192.0.2.2', 'fd00::2'], 'IPv4 first, no link-local');
  t.same(pastaPodIPs('', {}), []);
});
