/** Run inside a test's "host" network namespace (nsenter --net=…):
 * N cycles of pin a pod netns → CNI ADD → DEL → unpin, through the library.
 * Prints JSON: the pod IPs handed out. Usage: cni-cycles CONF_DIR NET DATA_ROOT N */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addNetwork, delNetwork, findNetwork, resultIPs, DEFAULT_CNI_BIN_DIRS } from '../../src/network';

async function main(): Promise<void> {
  const [confDir, name, dataRoot, n] = process.argv.slice(2);
  const { network } = findNetwork(confDir, name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-cycles-'));
  const ips: string[] = [];
  try {
    for (let i = 0; i < Number(n); i++) {
      const netns = path.join(dir, `ns${i}`);
      fs.writeFileSync(netns, '');
      const pin = spawnSync('unshare', [`--net=${netns}`, 'true']);
      if (pin.status !== 0) throw new Error(`unshare: ${pin.stderr}`);
      const a = { network, containerId: `cycle${i}`, netns, ifName: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 20000 + i, containerPort: 80, protocol: 'tcp' as const }] }, binDirs: DEFAULT_CNI_BIN_DIRS };
      try {
        ips.push(...resultIPs(await addNetwork(a, dataRoot, dir), 'eth0'));
        await delNetwork(dataRoot, a);
      } finally {
        spawnSync('umount', [netns]);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(ips));
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
