/** Rootless pod start (issue 20): an ordinary user made here starts a 1-container pod (`podrun start` against `podman
 * run -d`) and a 3-container pod (`podrun start` against `podman kube play` of the same manifest), both rootless, no
 * network, and a 1-container pod publishing a port (`podrun start --network pasta` with a hostPort against `podman
 * run -d -p`, whose rootless network on Debian 12's podman 4.3 is slirp4netns + rootlessport), interleaved in the
 * same run; medians of PODRUN_BENCH_RUNS (15) after 3 warm-ups. Removal is not timed. Also rootless `podman run -d`
 * with podrun-oci as its runtime against the same with its own (runc).
 * The user gets a delegated cgroup (podrun keeps pods in cgroups; podman, rootless on this hybrid host, runs without
 * any) and the package bind-mounted where it can read it; all of it is removed at the end. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { repo } from './common';
import { makeRootlessUser } from '../test/support/rootless-user';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const podYaml = (name: string, n: number, hostPort?: number): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  terminationGracePeriodSeconds: 0
  containers:
${Array.from({ length: n }, (_, i) => `    - { name: c${i}, image: localhost/podrun/busybox, command: [sleep, "3600"]${hostPort ? `, ports: [{ containerPort: 8080, hostPort: ${hostPort} }]` : ''} }`).join('\n')}
`;

async function main(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 15);
  const fx = await ensureFixtures();
  const u = makeRootlessUser({ prefix: 'prbench', subids: true, repo });
  const as = (args: string[]): string => {
    const [cmd, ...rest] = u.command(args);
    const r = spawnSync(cmd!, rest, { cwd: u.top, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const file = u.file;
  try {
    const tar = path.join(u.runDir, 'bb.tar');
    execFileSync('tar', ['-C', fx.images['busybox-gzip']!, '-cf', tar, '.']);
    fs.chownSync(tar, u.uid, u.gid);
    as(['podrun', 'load', '-q', '--name', 'localhost/podrun/busybox', tar]);
    as(['podman', 'load', '-q', '-i', tar]);
    as(['podman', 'tag', 'localhost/latest', 'localhost/podrun/busybox']);
    const one = file('one.yaml', podYaml('one', 1));
    const three = file('three.yaml', podYaml('three', 3));
    const hostPort = 20000 + (process.pid % 20000);
    const web = file('web.yaml', podYaml('web', 1, hostPort));
    const timed = (args: string[]): number => {
      const t = performance.now();
      as(args);
      return performance.now() - t;
    };
    const times = { podrun1: [] as number[], podman1: [] as number[], podrun3: [] as number[], podman3: [] as number[], podrunNet: [] as number[], podmanNet: [] as number[], podmanOci: [] as number[] };
    // podrun-oci as rootless podman's runtime, against podman's own (runc)
    const ociRuntime = ['--runtime', path.join(u.pkg, 'build', 'Release', 'podrun-oci')];
    for (let i = 0; i < runs + 3; i++) {
      const keep = i >= 3;
      const a = timed(['podrun', 'start', one]);
      as(['podrun', 'rm', '-f', 'one']);
      const b = timed(['podman', 'run', '-d', '--network', 'none', '--name', 'one', 'localhost/podrun/busybox', 'sleep', '3600']);
      as(['podman', 'rm', '-f', '-t', '0', 'one']);
      const c = timed(['podrun', 'start', three]);
      as(['podrun', 'rm', '-f', 'three']);
      const d = timed(['podman', 'kube', 'play', '--network', 'none', three]);
      as(['podman', 'kube', 'down', three]);
      const e = timed(['podrun', 'start', '--network', 'pasta', web]);
      as(['podrun', 'rm', '-f', 'web']);
      const f = timed(['podman', 'run', '-d', '-p', `${hostPort}:8080`, '--name', 'web', 'localhost/podrun/busybox', 'sleep', '3600']);
      as(['podman', 'rm', '-f', '-t', '0', 'web']);
      const g = timed(['podman', ...ociRuntime, 'run', '-d', '--network', 'none', '--name', 'oci', 'localhost/podrun/busybox', 'sleep', '3600']);
      as(['podman', ...ociRuntime, 'rm', '-f', '-t', '0', 'oci']);
      if (keep) {
        times.podmanOci.push(g);
        times.podrunNet.push(e);
        times.podmanNet.push(f);
        times.podrun1.push(a);
        times.podman1.push(b);
        times.podrun3.push(c);
        times.podman3.push(d);
      }
    }
    const line = (what: string, p: number[], q: number[], other: string): string =>
      `${what}: podrun ${median(p).toFixed(1)} ms   ${other} ${median(q).toFixed(1)} ms   = ${(median(q) / median(p)).toFixed(2)}× faster`;
    console.log(`rootless pod start, median of ${runs} (kernel ${os.release()}):`);
    console.log(line('1 container ', times.podrun1, times.podman1, 'podman run -d'));
    console.log(line('3 containers', times.podrun3, times.podman3, 'podman kube play'));
    console.log(line('1 + hostPort', times.podrunNet, times.podmanNet, 'podman run -d -p (slirp4netns)'));
    console.log(`podman run -d, rootless: --runtime podrun-oci ${median(times.podmanOci).toFixed(1)} ms   runc ${median(times.podman1).toFixed(1)} ms   = ${(median(times.podman1) / median(times.podmanOci)).toFixed(2)}× faster`);
  } finally {
    u.remove(); // the user's processes (the pause processes of podrun and podman, conmon) first, then what they used
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
