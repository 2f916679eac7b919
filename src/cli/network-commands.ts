/** podrun network init / ls / inspect: CNI networks pods can join. */
import type { Command } from 'commander';
import type { PodGlobals, Runner } from './pod-commands';
import { table } from './table';

const net = (): typeof import('../network') => require('../network') as typeof import('../network');
const pod = (): typeof import('../pod') => require('../pod') as typeof import('../pod');

export function registerNetworkCommands(program: Command, run: Runner, globals: () => PodGlobals): void {
  const confDir = (): string => globals().cniConfDir ?? net().DEFAULT_CNI_CONF_DIR;
  const network = program.command('network').description('CNI networks pods can join (podrun start --network NAME)');

  network
    .command('init')
    .description('write a default network: bridge podrun0, host-local IPAM, portmap, firewall (only when asked)')
    .option('--name <name>', 'network name', 'podrun')
    .option('--bridge <ifname>', 'bridge interface', 'podrun0')
    .option('--subnet <cidr>', 'IPv4 subnet pods get addresses from', '10.90.0.0/16')
    .option('--force', 'replace a network of that name')
    .action((opt: { name: string; bridge: string; subnet: string; force?: boolean }) =>
      run(async () => {
        const r = net().initNetwork({ confDir: confDir(), ...opt });
        process.stdout.write(`${r.network.name} ${r.file}\n`);
      })(),
    );

  network
    .command('ls')
    .description('list the networks in the CNI configuration directory')
    .option('--json', 'JSON output')
    .action((opt: { json?: boolean }) =>
      run(async () => {
        const { networks, invalid } = net().loadNetworks(confDir());
        if (opt.json) return void process.stdout.write(`${JSON.stringify({ networks, invalid }, null, 2)}\n`);
        process.stdout.write(table([['NAME', 'VERSION', 'PLUGINS', 'FILE'], ...networks.map((n) => [n.network.name, n.network.cniVersion, n.network.plugins.map((p) => p.type).join(','), n.file])]));
        for (const i of invalid) process.stderr.write(`podrun: warning: ${i.error}\n`);
      })(),
    );

  network
    .command('inspect')
    .description("a network's configuration, its plugins' supported CNI versions, and the pods attached")
    .argument('<name>')
    .action((name: string) =>
      run(async () => {
        const g = globals();
        const found = net().findNetwork(confDir(), name);
        const plugins = await net().pluginVersions(found.network, g.cniBinDirs ?? net().DEFAULT_CNI_BIN_DIRS);
        const pods = pod().pods({ root: g.runroot }).filter((p) => p.network === name).map((p) => ({ name: p.name, id: p.id, ips: p.status.podIPs?.map((x) => x.ip) ?? [] }));
        process.stdout.write(`${JSON.stringify({ ...found, plugins, pods }, null, 2)}\n`);
      })(),
    );

  network
    .command('check')
    .description("CNI CHECK of a pod's attachment: each plugin verifies what it set up (pasta: that it still runs)")
    .argument('<pod>')
    .action((name: string) =>
      run(async () => {
        const g = globals();
        const r = await pod().checkPodNetwork(name, { root: g.runroot, dataRoot: g.dataRoot });
        process.stdout.write(`${name}: ${r.network} ok (${r.podIPs.join(', ')})\n`);
      })(),
    );
}
