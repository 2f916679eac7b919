/** Rootless pod start (issue 20): an ordinary user made here starts a 1-container pod (`podrun start` against `podman
 * run -d`) and a 3-container pod (`podrun start` against `podman kube play` of the same manifest), both rootless, no
 * network, and a 1-container pod publishing a port (`podrun start --network pasta` with a hostPort against `podman
 * run -d -p`, whose rootless network on Debian 12's podman 4.3 is slirp4netns + rootlessport), interleaved in the
 * same run; medians of PODRUN_BENCH_RUNS (15) after 3 warm-ups. Removal is not timed.
 * The user gets a delegated cgroup (podrun keeps pods in cgroups; podman, rootless on this hybrid host, runs without
 * any) and the package bind-mounted where it can read it; all of it is removed at the end. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { repo } from './common';

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
  const name = `prbench${process.pid % 100000}`;
  execFileSync('useradd', ['-m', '-s', '/bin/sh', name]);
  const uid = Number(execFileSync('id', ['-u', name]).toString());
  const gid = Number(execFileSync('id', ['-g', name]).toString());
  const home = `/home/${name}`;
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-bench-rootless-'));
  fs.chmodSync(top, 0o755);
  const pkg = path.join(top, 'pkg');
  fs.mkdirSync(pkg);
  execFileSync('mount', ['--bind', '-o', 'ro', repo, pkg]);
  const xdg = path.join(top, 'xdg');
  fs.mkdirSync(xdg, { mode: 0o700 });
  fs.chownSync(xdg, uid, gid);
  const cgroup = `/sys/fs/cgroup/unified/podrun-bench-${name}`;
  fs.mkdirSync(cgroup);
  execFileSync('chown', ['-R', `${uid}:${gid}`, cgroup]);
  const as = (args: string[]): string => {
    const r = spawnSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec setpriv --reuid=${uid} --regid=${gid} --init-groups -- env -i HOME=${home} PATH=${pkg}/bin:/usr/bin:/bin XDG_RUNTIME_DIR=${xdg} "$@"`, 'sh', ...args], { cwd: top, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const file = (n: string, text: string): string => {
    const f = path.join(xdg, n);
    fs.writeFileSync(f, text);
    fs.chownSync(f, uid, gid);
    return f;
  };
  try {
    const tar = path.join(xdg, 'bb.tar');
    execFileSync('tar', ['-C', fx.images['busybox-gzip']!, '-cf', tar, '.']);
    fs.chownSync(tar, uid, gid);
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
    const times = { podrun1: [] as number[], podman1: [] as number[], podrun3: [] as number[], podman3: [] as number[], podrunNet: [] as number[], podmanNet: [] as number[] };
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
      if (keep) {
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
  } finally {
    // the user's processes (the pause processes of podrun and podman, conmon) first, then what they used
    spawnSync('sh', ['-c', `for p in $(ps -u ${uid} -o pid=); do kill -9 $p; done; sleep 0.3`]);
    spawnSync('umount', ['-l', pkg]);
    for (const d of fs.existsSync(cgroup) ? execFileSync('find', [cgroup, '-depth', '-type', 'd']).toString().split('\n').filter(Boolean) : []) {
      try {
        fs.rmdirSync(d);
      } catch {
        fs.writeFileSync(path.join(d, 'cgroup.kill'), '1');
      }
    }
    if (fs.existsSync(cgroup)) spawnSync('sh', ['-c', `sleep 0.3; find ${cgroup} -depth -type d -exec rmdir {} +`]);
    spawnSync('userdel', ['-r', '-f', name]);
    fs.rmSync(top, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
