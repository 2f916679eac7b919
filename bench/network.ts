/** What CNI costs a pod: `podrun start` and `podrun rm` of a one-container
 * pod attached to a bridge network (Debian's bridge + host-local + portmap +
 * firewall plugins) against the same pod with loopback only, in the same
 * run. Everything happens in a network namespace the bench makes and
 * removes; the machine's own network is not touched. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { benchMain, hyperfine, podrun } from './common';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata: { name: netbench }\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 0\n  containers:\n    - { name: c, image: localhost/podrun/busybox, command: [sleep, "3600"], ports: [{ containerPort: 80, hostPort: 18080 }] }\n';

async function inner(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 20);
  const fx = await ensureFixtures();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-bench-net-'));
  const hostNs = path.join(dir, 'hostns');
  fs.writeFileSync(hostNs, '');
  execFileSync('unshare', [`--net=${hostNs}`, 'ip', 'link', 'set', 'lo', 'up']);
  fs.mkdirSync(path.join(dir, 'conf'));
  fs.writeFileSync(path.join(dir, 'conf', '10-bench.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: 'bench', plugins: [
      { type: 'bridge', bridge: 'prbench0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.125.0.0/24' }]], dataDir: path.join(dir, 'ipam') } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  }));
  fs.writeFileSync(path.join(dir, 'lo.yaml'), POD.replace(', ports: [{ containerPort: 80, hostPort: 18080 }]', ''));
  fs.writeFileSync(path.join(dir, 'net.yaml'), POD);
  const P = `nsenter --net=${hostNs} ${podrun} --data-root ${dir}/data --runroot ${dir}/run --cni-conf-dir ${dir}/conf`;
  const rm = `sh -c '${P} rm -f netbench >/dev/null 2>&1; true'`;
  try {
    execFileSync('sh', ['-c', `${P} load -q --name localhost/podrun/busybox ${fx.images['busybox-gzip']} >/dev/null`]);
    const start = hyperfine(
      { 'start, loopback only': `${P} start ${dir}/lo.yaml`, 'start, CNI bridge + hostPort': `${P} start --network bench ${dir}/net.yaml` },
      runs, ['--prepare', rm, '--cleanup', rm], 2,
    );
    // rm needs a pod of its own kind before each run: one hyperfine per kind
    const rmOf = (name: string, startArgs: string): number => hyperfine(
      { [name]: `${P} rm -f netbench` }, runs, ['--prepare', `sh -c '${P} rm -f netbench >/dev/null 2>&1; ${P} start ${startArgs} >/dev/null'`], 2,
    )[name]!.mean;
    const rmLo = rmOf('rm, loopback only', `${dir}/lo.yaml`);
    const rmNet = rmOf('rm, CNI bridge + hostPort', `--network bench ${dir}/net.yaml`);
    const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
    const lo = start['start, loopback only']!.mean;
    const net = start['start, CNI bridge + hostPort']!.mean;
    process.stdout.write(`\nstart: loopback ${ms(lo)}, CNI ${ms(net)}: ADD adds ${ms(net - lo)} per pod (${(net / lo).toFixed(2)}×)\n`);
    process.stdout.write(`rm:    loopback ${ms(rmLo)}, CNI ${ms(rmNet)}: DEL adds ${ms(rmNet - rmLo)} per pod (${(rmNet / rmLo).toFixed(2)}×)\n`);
  } finally {
    spawnSync('sh', ['-c', rm]);
    spawnSync('umount', [hostNs]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

benchMain(__filename, inner);
