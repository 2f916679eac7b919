/** A test's whole life through the library (issue 19): start a 1-container pod, wait for a log line, exec a
 * command, remove the pod — with podrun's `Podrun` client in-process, against the same work with podman (`podman
 * run -d`, `podman logs` until the line is there, `podman exec`, `podman rm -f`: what testcontainers-node does
 * through Docker's API, and Docker's daemon cannot run on this host without touching its cgroup v1 hierarchies),
 * in the same run. Runs in benchMain's private mount namespace (cgroup2 at /sys/fs/cgroup). */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { Podrun, Wait } from '../src/index';
import { benchMain } from './common';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function inner(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 15);
  const fx = await ensureFixtures();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-bench-lib-'));
  const conf = path.join(dir, 'containers.conf');
  // podman asks for nofile/nproc hard limits above this host's (no CAP_SYS_RESOURCE)
  fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\npids_limit = 0\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
  process.env.CONTAINERS_CONF = conf;
  const podman = ['--root', `${dir}/podman`, '--runroot', `${dir}/podman-run`, '--storage-driver', 'overlay'];
  const M = (...args: string[]): string => execFileSync('podman', [...podman, ...args], { encoding: 'utf8' });
  const libpodParent = '/sys/fs/cgroup/libpod_parent';
  const hadLibpodParent = fs.existsSync(libpodParent);
  const client = new Podrun({ root: `${dir}/run`, dataRoot: `${dir}/data` });
  const script = 'echo starting; sleep 0.05; echo ready; exec sleep 3600';
  try {
    await client.load(fx.images['busybox-gzip'], { name: 'localhost/podrun/busybox' });
    execFileSync('sh', ['-c', `tar -C ${fx.images['busybox-gzip']} -cf ${dir}/bb.tar . && podman ${podman.join(' ')} load -q -i ${dir}/bb.tar >/dev/null`]);
    const podrunLife = async (i: number): Promise<void> => {
      const pod = await client.pod(`life${i}`).container({ image: 'localhost/podrun/busybox', command: ['sh', '-c', script] })
        .start({ waitFor: Wait.forLogMessage('ready'), owned: true });
      const r = await pod.exec(['cat', '/etc/hostname']);
      if (r.stdout !== `life${i}\n`) throw new Error(`exec gave ${JSON.stringify(r.stdout)}`);
      await pod.remove();
    };
    const podmanLife = async (): Promise<void> => {
      const id = M('run', '-d', '--network', 'none', 'localhost/latest', 'sh', '-c', script).trim();
      while (!M('logs', id).includes('ready')) await new Promise((r) => setTimeout(r, 10));
      M('exec', id, 'cat', '/etc/hostname');
      M('rm', '-f', '-t', '0', id);
    };
    const times: Record<'podrun' | 'podman', number[]> = { podrun: [], podman: [] };
    for (let i = 0; i < runs + 3; i++) {
      // interleaved, so both see the same machine; the first three of each are warm-up
      let t = performance.now();
      await podrunLife(i);
      if (i >= 3) times.podrun.push(performance.now() - t);
      t = performance.now();
      await podmanLife();
      if (i >= 3) times.podman.push(performance.now() - t);
    }
    const a = median(times.podrun);
    const b = median(times.podman);
    process.stdout.write(`a test's life (start 1-container pod, wait for a log line, exec, remove), median of ${runs}:\n`);
    process.stdout.write(`  podrun library ${a.toFixed(1)} ms   podman run/logs/exec/rm ${b.toFixed(1)} ms   = ${(b / a).toFixed(1)}× faster (target ≥ 5×)\n`);
  } finally {
    for (const p of client.list()) await client.remove(p.id).catch(() => undefined);
    spawnSync('podman', [...podman, 'rm', '-a', '-f', '-t', '0'], { stdio: 'ignore' });
    spawnSync('podman', [...podman, 'rmi', '-a', '-f'], { stdio: 'ignore' });
    spawnSync('sh', ['-c', `umount -R ${dir}/podman/overlay 2>/dev/null; true`]);
    if (!hadLibpodParent) spawnSync('find', [libpodParent, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

benchMain(__filename, inner);
