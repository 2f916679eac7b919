/** Pod start-up against podman, in the same run: time from `podrun start`
 * until every container runs, for 1- and 3-container pods of busybox
 * `sleep`, against as many `podman run -d` of the same image (Debian's
 * podman, its default runtime runc; see below why not `podman pod
 * create`); plus the memory an idle
 * podrun pod costs: its monitor's RSS (against podman's conmons), and all
 * told (processes' PSS + kernel slab/page tables/stacks over ten idle pods),
 * hence how many fit. Runs in the private mount namespace
 * of benchMain (cgroup2 bound over /sys/fs/cgroup, so podman never touches
 * this host's v1 hierarchies). */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { benchMain, hyperfine, podrun } from './common';

function podYaml(name: string, n: number): string {
  const ctrs = Array.from({ length: n }, (_, i) => `    - { name: c${i}, image: localhost/podrun/busybox, command: [sleep, "3600"] }`).join('\n');
  return `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name} }\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 0\n  containers:\n${ctrs}\n`;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function inner(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 15);
  const fx = await ensureFixtures();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-bench-pod-'));
  const P = `${podrun} --data-root ${dir}/data --runroot ${dir}/run`;
  const conf = path.join(dir, 'containers.conf');
  // podman asks for nofile/nproc hard limits above this host's (no CAP_SYS_RESOURCE)
  fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\npids_limit = 0\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
  process.env.CONTAINERS_CONF = conf;
  const M = `podman --root ${dir}/podman --runroot ${dir}/podman-run --storage-driver overlay`;
  const libpodParent = '/sys/fs/cgroup/libpod_parent'; // cgroup2, bound there by benchMain
  const hadLibpodParent = fs.existsSync(libpodParent);
  try {
    execFileSync('sh', ['-c', `${P} load -q --name localhost/podrun/busybox ${fx.images['busybox-gzip']} >/dev/null`]);
    execFileSync('sh', ['-c', `tar -C ${fx.images['busybox-gzip']} -cf ${dir}/bb.tar . && ${M} load -q -i ${dir}/bb.tar >/dev/null`]);
    for (const n of [1, 3]) fs.writeFileSync(path.join(dir, `pod${n}.yaml`), podYaml(`bench${n}`, n));
    // `podman pod create` cannot run here with runc: in cgroupfs mode on cgroup v2 podman puts a deny-all
    // device filter on the pod cgroup, so runc's /dev/null reopen fails (EPERM); and podman 4.3 leaves
    // containers that joined another's namespaces behind on `rm -a -f`. So the anchor is n plain
    // `podman run -d` — less than a pod (no shared namespaces to set up), so a generous one.
    const podmanPod = (n: number): string => `sh -c 'for i in $(seq ${n}); do ${M} run -d --network none localhost/latest sleep 3600 >/dev/null; done'`;
    // its own storage root: all of them are ours
    const podmanRm = `${M} rm -a -f -t 0 >/dev/null 2>&1`;
    const h = hyperfine(
      {
        'podrun start (1 container)': `${P} start ${dir}/pod1.yaml`,
        'podman run ×1': podmanPod(1),
        'podrun start (3 containers)': `${P} start ${dir}/pod3.yaml`,
        'podman run ×3': podmanPod(3),
        'node -e 0': 'node -e 0',
      },
      runs,
      [
        // one --prepare per command (in order): each tool removes only its own, so podman's teardown does not run
        // (and linger) right before a podrun start, nor podrun's before podman's
        '--prepare', `sh -c '${P} rm -f bench1 >/dev/null 2>&1; true'`,
        '--prepare', `sh -c '${podmanRm}; true'`,
        '--prepare', `sh -c '${P} rm -f bench3 >/dev/null 2>&1; true'`,
        '--prepare', `sh -c '${podmanRm}; true'`,
        '--prepare', 'true',
        '--cleanup', `sh -c '${P} rm -f bench1 bench3 >/dev/null 2>&1; ${podmanRm}; true'`,
      ],
      2,
    );
    // an idle 3-container pod: what its monitors hold
    execFileSync('sh', ['-c', `${P} start ${dir}/pod3.yaml >/dev/null`]);
    // the containers' monitors (one: the pod's), from their OCI state
    const pids = [...new Set(spawnSync('sh', ['-c', `cat ${dir}/run/pods/*/oci/containers/*/state.json`], { encoding: 'utf8' }).stdout
      .split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { monitorPid?: number }).monitorPid ?? 0).filter(Boolean))];
    const rss = pids.map(rssKiB);
    execFileSync('sh', ['-c', `${P} rm -f bench3 >/dev/null`]);
    // podman's per-container monitor, conmon, for the same 3 containers
    execFileSync('sh', ['-c', podmanPod(3)]);
    const conmons = spawnSync('pgrep', ['-f', `conmon .*${dir}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    const conmonRss = conmons.map(rssKiB);
    execFileSync('sh', ['-c', `${podmanRm}; true`]);
    // what an idle pod costs the host in all: its processes' PSS (monitor, container), and the kernel's
    // slab, page tables and stacks (cgroups, namespaces, mounts, overlay) — deltas over N idle 1-container pods
    // (MemAvailable moves with the page cache too much to tell)
    const N = 10;
    const kernel = (): number => {
      const mi = fs.readFileSync('/proc/meminfo', 'utf8');
      return ['Slab', 'PageTables', 'KernelStack'].reduce((n, k) => n + Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(mi)![1]), 0);
    };
    const pss = (pid: number): number => {
      try {
        return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
      } catch {
        return 0;
      }
    };
    for (let i = 0; i < N; i++) fs.writeFileSync(path.join(dir, `idle${i}.yaml`), podYaml(`idle${i}`, 1));
    const kernel0 = kernel();
    for (let i = 0; i < N; i++) execFileSync('sh', ['-c', `${P} start ${dir}/idle${i}.yaml >/dev/null`]);
    await new Promise((r) => setTimeout(r, 1000));
    const kernelKiB = (kernel() - kernel0) / N;
    // the pods' processes: every process in their cgroups (monitor in sandbox/, the container in ctr-c0/)
    const procs = spawnSync('sh', ['-c', `cat /sys/fs/cgroup/podrun.slice/pod-*/*/cgroup.procs`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    const pssKiB = procs.reduce((n, pid) => n + pss(pid), 0) / N;
    const perPod = Math.max(1, kernelKiB + pssKiB);
    const avail0 = Number(/MemAvailable:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
    for (let i = 0; i < N; i++) execFileSync('sh', ['-c', `${P} rm -f idle${i} >/dev/null`]);
    const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
    const row = (a: string, b: string): string => {
      const x = h[a]!.mean;
      const y = h[b]!.mean;
      return `${a.padEnd(30)} ${ms(x).padStart(7)}   ${b} ${ms(y)}   = ${(x / y).toFixed(2)}× podman's time`;
    };
    process.stdout.write(`\n${row('podrun start (1 container)', 'podman run ×1')}\n`);
    process.stdout.write(`${row('podrun start (3 containers)', 'podman run ×3')}   (target ≤ 150 ms)\n`);
    process.stdout.write(`  (of each podrun start, ${ms(h['node -e 0']!.mean)} is node's own start-up: \`node -e 0\`)\n`);
    process.stdout.write(`idle 3-container pod: ${pids.length} monitor(s), RSS ${rss.join(' + ')} KiB = ${rss.reduce((a, b) => a + b, 0)} KiB`
      + `   podman: ${conmonRss.length} conmon, RSS ${conmonRss.reduce((a, b) => a + b, 0)} KiB = ${(rss.reduce((a, b) => a + b, 0) / Math.max(1, conmonRss.reduce((a, b) => a + b, 0))).toFixed(2)}× podman's\n`);
    process.stdout.write(`idle 1-container pod, all told (over ${N} pods): ${perPod.toFixed(0)} KiB each = processes' PSS ${pssKiB.toFixed(0)} + kernel (slab, page tables, stacks) ${kernelKiB.toFixed(0)} KiB → ~${Math.floor(avail0 / perPod)} such pods fit in this host's ${Math.round(avail0 / 1024)} MiB available (by memory; pids and fds allow fewer)\n`);
  } finally {
    spawnSync('sh', ['-c', `${P} rm -f bench1 bench3 >/dev/null 2>&1; ${M} rm -a -f -t 0 --depend >/dev/null 2>&1; ${M} rmi -a -f >/dev/null 2>&1`]);
    spawnSync('sh', ['-c', `umount -R ${dir}/podman/overlay 2>/dev/null; true`]);
    if (!hadLibpodParent) spawnSync('find', [libpodParent, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

benchMain(__filename, inner);
