/** A real client drives podrun-oci: Debian's podman (with conmon) runs,
 * execs, stops, logs, detaches, and makes a pod of two containers.
 *
 * Podman and conmon decide between cgroup v1 and v2 from /sys/fs/cgroup; on
 * this hybrid host they would write to the v1 hierarchies, which must not be
 * touched. So the whole session runs in a private mount namespace with the
 * cgroup2 mount bound over /sys/fs/cgroup; every mount podman makes dies
 * with that namespace. */
import fs, { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { fixtures, isRoot, repoRoot, runCmd, stopOciHelper, tempDir } from '../helpers';
import { makeRootlessUser } from '../support/rootless-user';

const haveCmd = async (c: string): Promise<boolean> => (await runCmd('sh', ['-c', `command -v ${c}`])).code === 0;

/** What both podman sessions do with $P (podman with podrun-oci as its runtime): a tty, a detached container with
 * exec, logs and stop, a pod of two, a foreground run without --rm. */
const clientSession = (o: { afterExec?: string; afterStop?: string } = {}): string => `$P run --rm -t --network none localhost/latest sh -c 'echo "tty: $(tty)"; exit 4'; echo "tty rc=$?"
$P run -d --name d1 --network none localhost/latest sh -c 'trap "exit 0" TERM; echo started; while :; do sleep 0.1; done' >/dev/null; echo "detach rc=$?"
$P exec d1 sh -c 'echo "exec: $(hostname) pid $$"; exit 5'; echo "exec rc=$?"
${o.afterExec ?? ''}
sleep 0.3
$P logs d1
$P stop -t 5 d1 >/dev/null; echo "stop rc=$?"
${o.afterStop ?? ''}
$P inspect d1 --format 'exited={{.State.ExitCode}} status={{.State.Status}}'
$P rm d1 >/dev/null; echo "rm rc=$?"
$P pod create --name p1 --network none >/dev/null; echo "pod rc=$?"
$P run -d --pod p1 --name a1 localhost/latest sh -c 'trap "exit 0" TERM; readlink /proc/self/ns/net > /dev/shm/a1-net; hostname > /dev/shm/a1-host; while :; do sleep 0.1; done' >/dev/null; echo "a1 rc=$?"
sleep 0.5
$P run --rm --pod p1 localhost/latest sh -c 'test "$(readlink /proc/self/ns/net)" = "$(cat /dev/shm/a1-net)" && echo "shared net"; echo "host $(hostname) $(cat /dev/shm/a1-host)"'; echo "a2 rc=$?"
$P pod rm -f -t 5 p1 >/dev/null; echo "pod rm rc=$?"
# foreground without --rm: podman's cleanup deletes without our --root (runc: delete --force of an unknown id succeeds)
timeout 15 $P run --name fg --network none localhost/latest sh -c 'exit 6'; echo "fg rc=$?"
$P inspect fg --format 'fg {{.State.Status}} {{.State.ExitCode}}'
`;

if (!isRoot) {
  t.plan(0, 'integration tests need root');
} else {
  t.test('podman --runtime podrun-oci', async (t) => {
    if (!(await haveCmd('podman')) || !(await haveCmd('conmon'))) {
      t.fail('podman and conmon are not installed: run scripts/setup.sh');
      return;
    }
    const fx = await fixtures();
    const dir = await tempDir(t, 'podrun-podman-');
    const image = path.join(dir, 'busybox-oci.tar');
    const tar = await runCmd('tar', ['-C', fx.images['busybox-gzip']!, '-cf', image, '.']);
    t.equal(tar.code, 0, tar.stderr);
    await writeFile(
      path.join(dir, 'containers.conf'),
      // podman asks for nofile/nproc hard limits above this host's; podrun would refuse them (no CAP_SYS_RESOURCE)
      '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\npids_limit = 0\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
    );
    const libpodParent = '/sys/fs/cgroup/unified/libpod_parent';
    const hadLibpodParent = existsSync(libpodParent);
    const script = `
set -u
mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup
export CONTAINERS_CONF=${dir}/containers.conf
P="podman --root ${dir}/storage --runroot ${dir}/run --tmpdir ${dir}/tmp --storage-driver overlay --runtime ${path.join(repoRoot, 'bin', 'podrun-oci')} --runtime-flag root=${dir}/podrun-state"
$P load -q -i ${image} >/dev/null && echo "load ok"
$P run --rm --network none localhost/latest sh -c 'echo "run: $(id -u) $(cat /proc/self/cgroup | grep ^0::)"; exit 3'; echo "run rc=$?"
${clientSession()}$P run -d --name w1 --network none localhost/latest sh -c 'sleep 0.3; exit 7' >/dev/null
timeout 15 $P wait w1; echo "wait rc=$?"
$P rm fg w1 >/dev/null
# a --network none pod: lo is up, its containers talk over 127.0.0.1
$P pod create --name p2 --network none >/dev/null
$P run -d --pod p2 --name srv localhost/latest nc -l -p 8080 -e echo over-lo >/dev/null
sleep 0.3
# (no </dev/null: podman's own device filter on a cgroupfs pod's cgroup denies it, whatever the runtime)
$P run --rm --pod p2 localhost/latest sh -c 'sleep 1 | nc 127.0.0.1 8080'
$P pod rm -f -t 1 p2 >/dev/null
cat > ${dir}/kube.yaml <<'YAML'
apiVersion: v1
kind: Pod
metadata: { name: kp }
spec:
  restartPolicy: Never
  initContainers:
    - { name: i1, image: localhost/latest, command: [sh, -c, 'echo init1 > /work/order'], volumeMounts: [{ name: w, mountPath: /work }] }
    - { name: i2, image: localhost/latest, command: [sh, -c, 'echo init2 >> /work/order'], volumeMounts: [{ name: w, mountPath: /work }] }
  containers:
    - { name: app, image: localhost/latest, command: [sh, -c, 'cat /work/order; echo app'], volumeMounts: [{ name: w, mountPath: /work }] }
  volumes: [{ name: w, emptyDir: {} }]
YAML
timeout 30 $P kube play --network none ${dir}/kube.yaml >/dev/null; echo "play rc=$?"
timeout 15 $P wait kp-app >/dev/null
$P logs kp-app
$P kube down ${dir}/kube.yaml >/dev/null; echo "down rc=$?"
$P ps -a --format '{{.Names}}' | wc -l
`;
    // podrun-oci's creates go through its warm helper here, as they would under podman by default
    const r = await runCmd('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { env: { ...process.env, PODRUN_OCI_HELPER: '1' } });
    t.teardown(async () => {
      stopOciHelper(path.join(dir, 'podrun-state'));
      if (!hadLibpodParent) await runCmd('find', [libpodParent, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
      await rm(dir, { recursive: true, force: true });
    });
    const out = r.stdout;
    t.match(out, /^load ok$/m);
    t.match(out, /^run: 0 0::\/$/m, 'ran as root in its own cgroup namespace');
    t.match(out, /^run rc=3$/m, 'podman run returns the container exit code');
    t.match(out, /^tty: \/dev\/pts\/0\r?$/m, 'podman run -t: conmon got the pty master over --console-socket');
    t.match(out, /^tty rc=4$/m);
    t.match(out, /^detach rc=0$/m);
    t.match(out, /^exec: [0-9a-f]{12} pid \d+$/m, 'exec ran in the container (hostname = container id)');
    t.match(out, /^exec rc=5$/m);
    t.match(out, /^started$/m, 'podman logs shows container output');
    t.notMatch(out, /podrun: warning/, 'no runtime chatter in the container logs');
    t.match(out, /^stop rc=0$/m);
    t.match(out, /^exited=0 status=exited$/m, 'stopped by SIGTERM, exit code seen by podman');
    t.match(out, /^pod rc=0$/m);
    t.match(out, /^a1 rc=0$/m);
    t.match(out, /^shared net$/m, 'containers of a pod share the network namespace');
    t.match(out, /^host p1 p1$/m, 'and the UTS namespace (hostname = pod name) and IPC (/dev/shm)');
    t.match(out, /^a2 rc=0$/m);
    t.match(out, /^pod rm rc=0$/m);
    t.match(out, /^fg rc=6$/m, 'a foreground run without --rm returns (it took 20 s: podman waited for "exited")');
    t.match(out, /^fg exited 6$/m, 'and podman recorded the exit');
    t.match(out, /^7\nwait rc=0$/m, 'podman wait returns the exit code');
    t.match(out, /^over-lo$/m, 'containers of a --network none pod talk over lo (up, as runc brings it up)');
    t.match(out, /^play rc=0$/m);
    t.match(out, /^init1\ninit2\napp$/m, 'kube play: init containers ran in order, each to completion, before the app');
    t.match(out, /^down rc=0$/m);
    t.match(out, /^0$/m, 'nothing left in podman');
    if (r.code !== 0 || !/pod rm rc=0/.test(out)) t.comment(r.stderr);
  });

  // rootless podman (an ordinary user made here; podman 4.3 runs rootless here without cgroups: it deems this hybrid
  // host cgroup v1) with podrun-oci as its runtime: podrun-oci runs in podman's user namespace, keeps its state in
  // the user's runtime directory, and gives a container a cgroup only where one is delegated to the user
  for (const delegated of [false, true]) {
    t.test(`rootless podman --runtime podrun-oci (${delegated ? 'a cgroup delegated to the user' : 'no cgroup delegated: containers tracked by their PID namespaces'})`, async (t) => {
      const fx = await fixtures();
      const u = makeRootlessUser({ prefix: 'prp', subids: true, repo: repoRoot });
      t.teardown(() => u.remove());
      const image = path.join(u.runDir, 'busybox-oci.tar');
      t.equal((await runCmd('tar', ['-C', fx.images['busybox-gzip']!, '-cf', image, '.'])).code, 0);
      await runCmd('chown', [`${u.uid}:${u.gid}`, image]);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const script = u.file('podman.sh', `
set -u
P="podman --runtime ${u.pkg}/bin/podrun-oci"
$P load -q -i ${image} >/dev/null && echo "load ok"
$P run --rm --network none localhost/latest sh -c 'echo "run: $(id -u) $(head -1 /proc/self/uid_map | tr -s " ")"; exit 3'; echo "run rc=$?"
${clientSession({
  afterExec: '$P exec -d d1 setsid sleep 4243; echo "exec -d rc=$?"',
  afterStop: `pgrep -x -f 'sleep 4243' >/dev/null && echo "exec'd sleep outlived stop" || echo "exec'd sleep ended with the container"`,
})}$P rm fg >/dev/null
$P run -d -p 127.0.0.1:${port}:8080 --name web localhost/latest sh -c 'echo hello > /tmp/i; exec httpd -f -p 8080 -h /tmp' >/dev/null; echo "web rc=$?"
for i in 1 2 3 4 5 6 7 8 9 10; do wget -O ${u.runDir}/got http://127.0.0.1:${port}/i >/dev/null 2>&1 && break; sleep 0.3; done; echo "fetched $(cat ${u.runDir}/got)"
$P rm -f -t 0 web >/dev/null
$P run --rm --network none localhost/latest sh -c 'echo "cgroup $(grep ^0:: /proc/self/cgroup)"'
$P run --rm --network none --pid host localhost/latest true; echo "pid host rc=$?"
$P ps -a --format '{{.Names}}' | wc -l
ls ${u.runDir}/podrun/containers | wc -l
`);
      const [cmd, ...args] = u.command(['sh', script], { delegated });
      const r = await runCmd(cmd!, args, { cwd: u.top, env: { ...process.env, PODRUN_OCI_HELPER: '1' } });
      const out = r.stdout;
      t.match(out, /^load ok$/m);
      t.match(out, /^run: 0 +0 \d+ 1$/m, 'root in podman\'s user namespace, which maps the user to 0');
      t.match(out, /^run rc=3$/m);
      t.match(out, /^tty: \/dev\/pts\/0\r?$/m);
      t.match(out, /^tty rc=4$/m);
      t.match(out, /^exec: [0-9a-f]{12} pid \d+$/m);
      t.match(out, /^exec rc=5$/m);
      t.match(out, /^started$/m);
      t.notMatch(out, /level=warning|podrun: warning/, 'no runtime chatter in the container logs');
      t.match(out, /^stop rc=0$/m);
      t.match(out, /^exec'd sleep ended with the container$/m, 'a process exec\'d and detached ends with the container');
      t.match(out, /^exited=0 status=exited$/m);
      t.match(out, /^shared net$/m);
      t.match(out, /^host p1 p1$/m);
      t.match(out, /^pod rm rc=0$/m);
      t.match(out, /^fg rc=6$/m);
      t.match(out, /^fg exited 6$/m);
      t.match(out, /^fetched hello$/m, 'a published port, through podman\'s rootless network');
      const own = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!;
      if (delegated) {
        t.match(out, new RegExp(`^cgroup 0::/${path.basename(u.cgroup)}/podrun\\.slice/[0-9a-f]{64}$`, 'm'), 'a cgroup of its own below the delegated one');
        t.match(out, /^pid host rc=0$/m, 'the host\'s PID namespace: its processes are tracked by its cgroup');
      } else {
        t.match(out, new RegExp(`^cgroup ${own.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'), 'no cgroup of its own: where podman ran');
        t.match(out, /^pid host rc=(?!0)\d+$/m, 'the host\'s PID namespace without a cgroup: refused');
        t.match(r.stderr, /linux\.namespaces: without a cgroup, a container's processes are tracked by its PID namespace, so it needs one of its own/);
      }
      t.match(out, /^0\n0\n$/m, 'nothing left in podman or in podrun-oci\'s state');
      t.same(fs.readdirSync(u.cgroup).filter((d) => !/^cgroup\.|^[a-z]+\./.test(d)), [], 'no cgroup left in the delegated one');
      if (r.code !== 0 || !/pod rm rc=0/.test(out)) t.comment(r.stderr);
    });
  }
}
