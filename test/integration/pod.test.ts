/** Pods end to end through the CLI, as root: one sandbox shared by the
 * containers (hostname, network, IPC, /dev/shm), emptyDir volumes, init
 * containers, logs, exec, stop, rm — and nothing left behind. */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { podEnv, podrunBin, processGone, runCmd, snapshotHost, waitFor } from '../helpers';

async function env(t: Test) {
  const base = await podEnv(t);
  const { podrun } = base;
  /** `podrun inspect`'s view of one container of a pod */
  const containerOf = async (pod: string, name: string): Promise<CtrStatus> =>
    (JSON.parse((await podrun('inspect', pod)).stdout) as { status: { containerStatuses: CtrStatus[] } }).status.containerStatuses.find((c) => c.name === name)!;
  /** a pod's id, from `podrun inspect` */
  const podId = async (pod: string): Promise<string> => (JSON.parse((await podrun('inspect', pod)).stdout) as { id: string }).id;
  return { ...base, containerOf, podId };
}

type CtrStatus = { name: string; ready: boolean; started?: boolean; state: object; lastProbeFailure?: string; restartCount: number };

const DUO = `
apiVersion: v1
kind: Pod
metadata: { name: duo }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  volumes: [{ name: shared, emptyDir: {} }]
  initContainers:
    - name: setup
      image: localhost/podrun/busybox
      command: [sh, -c, 'echo "<h1>hello from $HOSTNAME</h1>" > /www/index.html; echo init done']
      volumeMounts: [{ name: shared, mountPath: /www }]
  containers:
    - name: web
      image: localhost/podrun/busybox
      command: [httpd, -f, -p, '8080', -h, /www]
      volumeMounts: [{ name: shared, mountPath: /www, readOnly: true }]
    - name: client
      image: localhost/podrun/busybox
      env: [{ name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }]
      command: [sh, -c, 'until wget -qO- http://127.0.0.1:8080/ 2>/dev/null; do sleep 0.1; done; echo "pod=$POD_NAME"; echo shm-from-client > /dev/shm/note; exec sleep 300']
`;

t.test('a two-container pod shares one sandbox', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, dataRoot, runRoot } = await env(t);
  const start = await podrun('start', await manifest('duo', DUO));
  t.equal(start.code, 0, start.stderr);
  t.match(start.stdout, /^duo [0-9a-f]{12} Running\n$/);
  t.notMatch(start.stderr, /warning/, 'a clean manifest gives no warnings');

  let logs = '';
  for (let i = 0; i < 100 && !logs.includes('pod=duo'); i++) {
    logs = (await podrun('logs', 'duo', '-c', 'client')).stdout;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(logs, '<h1>hello from duo</h1>\npod=duo\n', 'the client reached the web server on 127.0.0.1; the init container filled the emptyDir');
  t.equal((await podrun('logs', 'duo', '-c', 'setup')).stdout, 'init done\n');
  t.match((await podrun('logs', 'duo', '-c', 'setup', '--timestamps')).stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z init done\n$/);

  const inside = async (c: string, cmd: string) => (await podrun('exec', 'duo', '-c', c, '--', 'sh', '-c', cmd)).stdout;
  const probe = 'hostname; for n in net ipc uts mnt; do readlink /proc/self/ns/$n; done; cat /etc/hostname';
  const [web, client] = [(await inside('web', probe)).split('\n'), (await inside('client', probe)).split('\n')];
  t.equal(web[0], 'duo', 'hostname is the pod name');
  t.same(web.slice(0, 4), client.slice(0, 4), 'same hostname, network, IPC and UTS namespaces');
  t.not(web[4], client[4], 'each container has its own mount namespace');
  t.equal(web[5], 'duo');
  t.equal(await inside('web', 'cat /dev/shm/note'), 'shm-from-client\n', '/dev/shm is the pod\'s');
  t.equal(await inside('web', 'touch /www/x 2>&1 || echo read-only'), 'touch: /www/x: Read-only file system\nread-only\n', 'readOnly volumeMount');
  t.match(await inside('client', 'cat /etc/hosts'), /127\.0\.0\.1\tlocalhost\n[\s\S]*\tduo\n/);
  const failing = await podrun('exec', 'duo', '-c', 'web', '--', 'sh', '-c', 'exit 3');
  t.equal(failing.code, 3, 'exec returns the command\'s status');
  const defaulted = await podrun('exec', 'duo', '--', 'cat', '/proc/1/comm');
  t.equal(defaulted.stdout, 'httpd\n', 'no -c: the first app container, as kubectl');
  t.equal(defaulted.stderr, 'Defaulted container "web" out of: web, client, setup (init)\n');
  t.match((await podrun('logs', 'duo')).stderr, /^Defaulted container "web"/);

  const ps = await podrun('ps', '--json');
  const [p] = JSON.parse(ps.stdout) as Array<{ name: string; status: { phase: string; containerStatuses: Array<{ name: string; ready: boolean }>; initContainerStatuses: Array<{ state: { terminated?: { reason: string } } }> } }>;
  t.equal(p.status.phase, 'Running');
  t.same(p.status.containerStatuses.map((c) => [c.name, c.ready]), [['web', true], ['client', true]]);
  t.equal(p.status.initContainerStatuses[0].state.terminated?.reason, 'Completed');
  t.match((await podrun('ps')).stdout, /^NAME\s+ID\s+READY\s+STATUS\s+RESTARTS\s+IP\s+AGE\nduo\s+[0-9a-f]{12}\s+2\/2\s+Running\s+0\s+-\s+\d+s\n$/);

  const again = await podrun('start', await manifest('duo', DUO));
  t.equal(again.code, 1);
  t.match(again.stderr, /pod duo already exists/);
  t.equal((await podrun('rm', 'duo')).code, 1, 'rm refuses a running pod');

  const stop = await podrun('stop', 'duo');
  t.equal(stop.code, 0, stop.stderr);
  const stopped = JSON.parse((await podrun('inspect', 'duo')).stdout) as { status: { phase: string; containerStatuses: Array<{ state: { terminated?: { exitCode: number; reason: string } } }> } };
  // httpd and sleep run as PID 1 of their PID namespaces, where SIGTERM has no default action: the grace period ends them
  t.same(stopped.status.containerStatuses.map((c) => c.state.terminated?.exitCode), [137, 137], 'SIGKILL after the grace period');
  t.equal(stopped.status.phase, 'Failed');
  const rm = await podrun('rm', 'duo');
  t.equal(rm.code, 0, rm.stderr);
  t.same(fs.readdirSync(path.join(runRoot, 'pods')), [], 'no pod state left');
  t.same(fs.readdirSync(path.join(dataRoot, 'pods')), [], 'no writable layers or volumes left');
  t.same(fs.readdirSync(path.join(dataRoot, 'leases')), [], 'no image leases left');
  t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left');
});

t.test('one podrun-monitor per pod parents every container, keeps logs and exits; if it dies they run on and rm still cleans', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, runRoot, podId } = await env(t);
  const trio = `
apiVersion: v1
kind: Pod
metadata: { name: trio }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - { name: a, image: localhost/podrun/busybox, command: [sh, -c, 'echo from a; exec sleep 3600'] }
    - { name: b, image: localhost/podrun/busybox, command: [sh, -c, 'echo from b; exec sleep 3600'] }
    - { name: c, image: localhost/podrun/busybox, command: [sh, -c, 'echo from c; exit 3'] }
`;
  t.equal((await podrun('start', await manifest('trio', trio))).code, 0);
  const id = await podId('trio');
  const monitor = Number(fs.readFileSync(path.join(runRoot, 'pods', id, 'monitor.pid'), 'utf8').split(' ')[0]);
  const ppid = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  const state = (c: string) => JSON.parse(fs.readFileSync(path.join(runRoot, 'pods', id, 'oci', 'containers', `${id}-${c}`, 'state.json'), 'utf8')) as { pid: number; monitorPid: number };
  for (const c of ['a', 'b']) {
    t.equal(state(c).monitorPid, monitor, `${c}: the pod's monitor`);
    t.equal(ppid(state(c).pid), monitor, `${c}: its parent is the pod's monitor`);
  }
  t.match(fs.readFileSync(`/proc/${monitor}/cgroup`, 'utf8'), new RegExp(`podrun.slice/pod-${id}/sandbox\n`), 'the monitor lives in the pod cgroup\'s sandbox');
  await waitFor(async () => /"exitCode":3/.test(JSON.stringify(JSON.parse((await podrun('inspect', 'trio')).stdout).status.containerStatuses[2].state)), 'c\'s exit recorded');
  for (const c of ['a', 'b', 'c']) t.equal((await podrun('logs', 'trio', '-c', c)).stdout, `from ${c}\n`, `${c}: its own log`);

  process.kill(monitor, 'SIGKILL');
  await waitFor(async () => processGone(monitor), 'the monitor gone');
  t.ok(!processGone(state('a').pid) && !processGone(state('b').pid), 'the containers run on without their monitor');
  const ps = JSON.parse((await podrun('inspect', 'trio')).stdout) as { status: { containerStatuses: Array<{ state: object }> } };
  t.match(ps.status.containerStatuses[0].state, { running: {} }, 'and are reported running');
  t.match((await podrun('rm', '-f', '')).stderr, /a pod name or id is needed/, 'an empty name is no id prefix of every pod');
  t.equal((await podrun('rm', '-f', 'trio')).code, 0);
  t.same(await snapshotHost(), before, 'nothing left');
});

t.test('exec as kubectl: stdin only with -i; -t gives a pty connected to ours (size, input, exit status); launch errors named', async (t) => {
  const before = await snapshotHost();
  const { podrun, podrunFed, manifest, runRoot, dataRoot, podId } = await env(t);
  t.equal((await podrun('start', await manifest('solo', `
apiVersion: v1
kind: Pod
metadata: { name: solo }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: a, image: localhost/podrun/busybox, command: [sleep, '3600'] }]
`))).code, 0);
  const bin = `${podrunBin} --data-root ${dataRoot} --runroot ${runRoot}`;
  const noStdin = await podrunFed('typed', 'exec', 'solo', '--', 'cat');
  t.same([noStdin.code, noStdin.stdout], [0, ''], 'without -i the command reads /dev/null');
  const withStdin = await podrunFed('typed', 'exec', '-i', 'solo', '--', 'cat');
  t.same([withStdin.code, withStdin.stdout], [0, 'typed'], '-i passes our stdin');
  const tty = await podrun('exec', '-t', 'solo', '--', 'sh', '-c', 'tty; echo "TERM=$TERM"; exit 7');
  t.match(tty.stdout, /^\/dev\/pts\/\d+\r?\nTERM=xterm\r?\n$/, '-t: its stdio is a pty, and TERM says what it is (as docker and podman exec -t)');
  t.match((await podrun('exec', 'solo', '--', 'sh', '-c', 'echo "TERM=$TERM"')).stdout, /^TERM=\n$/, 'no terminal, no TERM');
  t.equal(tty.code, 7, 'and its exit status is ours');
  // under a terminal of our own (script(1)): our size reaches the pty, and our input
  const inner = `stty rows 31 cols 97; ${bin} exec -it solo -- sh -c 'stty size; read x; echo got:$x; exit 3'`;
  const term = await runCmd('script', ['-qec', inner, '/dev/null'], { input: 'abc\n' });
  t.match(term.stdout, /31 97/, 'the window size');
  t.match(term.stdout, /got:abc/, 'the input');
  t.equal(term.code, 3, 'the exit status through script');
  const bad = await podrun('exec', '-t', 'solo', '--', '/nonexistent');
  // the step and the errno; no OCI field: the user wrote no config.json (issue "kubectl parity")
  t.match(bad.stderr, /^podrun: exec "\/nonexistent": ENOENT\n$/, 'a launch error names the step');
  t.equal(bad.code, 127, 'a command that is not there: 127, as kubectl and podman');
  t.same(fs.readdirSync(path.join(runRoot, 'pods', await podId('solo'), 'oci')), ['containers'], 'no console sockets or plans left');
  t.equal((await podrun('rm', '-f', 'solo')).code, 0);
  t.same(await snapshotHost(), before, 'nothing left');
});

t.test('stdin, stdinOnce and tty containers: attach -i feeds stdin and streams output; a tty is logged; stdinOnce closes with the attach', async (t) => {
  const before = await snapshotHost();
  const { podrun, podrunFed, manifest } = await env(t);
  t.equal((await podrun('start', await manifest('att', `
apiVersion: v1
kind: Pod
metadata: { name: att }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - { name: once, image: localhost/podrun/busybox, stdin: true, stdinOnce: true, command: [sh, -c, 'while read l; do echo "got $l"; done; echo "stdin closed"; exit 5'] }
    - { name: open, image: localhost/podrun/busybox, stdin: true, command: [sh, -c, 'while read l; do echo "open got $l"; done; echo never'] }
    - { name: term, image: localhost/podrun/busybox, stdin: true, tty: true, command: [sh, -c, 'tty; read x; echo "x=$x"; exec sleep 3600'] }
    - { name: plain, image: localhost/podrun/busybox, command: [sh, -c, 'exec sleep 3600'] }
`))).code, 0);
  const attach = (c: string, input: string, ...flags: string[]) => podrunFed(input, 'attach', ...flags, 'att', '-c', c);
  const once = await attach('once', 'hello\nworld\n', '-i');
  t.same([once.code, once.stdout], [0, 'got hello\ngot world\nstdin closed\n'], 'stdinOnce: our input, then EOF when we are done; its output came back until it ended');
  t.match(JSON.parse((await podrun('inspect', 'att')).stdout).status.containerStatuses[0].state, { terminated: { exitCode: 5 } });
  t.equal((await podrun('logs', 'att', '-c', 'once')).stdout, 'got hello\ngot world\nstdin closed\n', 'and it is logged');

  const first = podrunFed('one\n', 'attach', '-i', 'att', '-c', 'open');
  await waitFor(async () => /open got one/.test((await podrun('logs', 'att', '-c', 'open')).stdout), 'the first input read');
  const busy = await attach('open', '', '-i');
  t.match(busy.stderr, /another client is attached/, 'one attached client at a time');
  await podrun('exec', 'att', '-c', 'plain', '--', 'true');
  t.equal((await podrun('stop', '-t', '0', 'att')).code, 0);
  t.equal((await first).code, 0, 'attach ends when the container does');
  t.notMatch((await podrun('logs', 'att', '-c', 'open')).stdout, /never/, 'stdin without stdinOnce stayed open after the attach\'s input ended');

  t.equal((await podrun('rm', '-f', 'att')).code, 0);
  t.equal((await podrun('start', await manifest('tty', `
apiVersion: v1
kind: Pod
metadata: { name: tty }
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - { name: term, image: localhost/podrun/busybox, stdin: true, tty: true, command: [sh, -c, 'tty; read x; echo "x=$x"; exec sleep 3600'] }
    - { name: plain, image: localhost/podrun/busybox, command: [sh, -c, 'exec sleep 3600'] }
`))).code, 0);
  await waitFor(async () => /\/dev\/pts\/0/.test((await podrun('logs', 'tty', '-c', 'term')).stdout), 'the tty line logged');
  const term = podrunFed('abc\n', 'attach', '-i', 'tty', '-c', 'term');
  await waitFor(async () => /x=abc/.test((await podrun('logs', 'tty', '-c', 'term')).stdout), 'the tty read our input');
  t.equal((await podrun('logs', 'tty', '-c', 'term')).stdout, '/dev/pts/0\r\nabc\r\nx=abc\r\n', 'a tty container\'s output is logged as the terminal wrote it (echo, CRLF)');
  t.match((await podrun('attach', '-i', 'tty', '-c', 'plain')).stderr, /does not take stdin/, 'attach -i to a container without stdin is refused');
  t.equal((await podrun('rm', '-f', 'tty')).code, 0);
  t.match((await term).stdout, /x=abc/, 'the attached client saw it');
  t.same(await snapshotHost(), before, 'nothing left');
});

t.test('a failing init container fails the pod; rm cleans it', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('bad', `
apiVersion: v1
kind: Pod
metadata: { name: bad-init }
spec:
  restartPolicy: Never
  initContainers: [{ name: check, image: localhost/podrun/busybox, command: [sh, -c, 'echo checking; exit 4'] }]
  containers: [{ name: app, image: localhost/podrun/busybox, command: [sleep, '100'] }]
`);
  const r = await podrun('start', f);
  t.equal(r.code, 1);
  t.match(r.stdout, /bad-init [0-9a-f]{12} Failed \(InitContainerFailed: init container check failed \(exit 4\)\)/);
  t.equal((await podrun('logs', 'bad-init', '-c', 'check')).stdout, 'checking\n');
  t.notMatch((await podrun('ps')).stdout, /bad-init/, 'ps lists live pods only');
  t.match((await podrun('ps', '-a')).stdout, /bad-init\s+[0-9a-f]{12}\s+0\/1\s+Failed/, 'ps -a lists the failed one');
  t.equal((await podrun('rm', 'bad-init')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('bad manifests are refused with the field, and leave nothing', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, runRoot } = await env(t);
  const r = await podrun('start', await manifest('x', DUO.replace('restartPolicy: Never', 'restartPolicy: Sometimes')));
  t.equal(r.code, 1);
  t.match(r.stderr, /duo\.yaml|x\.yaml: invalid Pod:\n {2}spec\.restartPolicy: must be one of Always, OnFailure, Never/);
  const missing = await podrun('start', await manifest('y', DUO.replace(/localhost\/podrun\/busybox/g, 'localhost/nope')));
  t.equal(missing.code, 1);
  t.match(missing.stderr, /spec\.initContainers\[0\]\.image: pulling localhost\/nope: .*cannot reach localhost/, 'a missing image is pulled, and the failure names the field');
  const never = await podrun('start', await manifest('z', DUO.replace(/localhost\/podrun\/busybox/g, 'localhost/nope').replace(/image: localhost\/nope/g, 'imagePullPolicy: Never\n      image: localhost/nope')));
  t.match(never.stderr, /spec\.initContainers\[0\]\.image: image localhost\/nope is not in the store/, 'imagePullPolicy Never does not pull');
  const probe = await podrun('start', await manifest('p', DUO.replace("      command: [sh, -c, 'echo \"<h1>", "      livenessProbe: { exec: { command: [sh] } }\n      command: [sh, -c, 'echo \"<h1>")));
  t.match(probe.stderr, /not supported yet: spec\.initContainers\[0\]\.livenessProbe/, 'valid but unimplemented fields are refused, not ignored');
  t.same(fs.readdirSync(path.join(runRoot, 'pods')), [], 'the failed start was rolled back');
  t.same(await snapshotHost(), before);
});

t.test('kill -9 of podrun start at random points (50), then rm or gc: the host is clean', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, runRoot, dataRoot } = await env(t);
  const f = await manifest('duo', DUO);
  const podIds = (): string[] => (fs.existsSync(path.join(runRoot, 'pods')) ? fs.readdirSync(path.join(runRoot, 'pods')) : []);
  // the kills land anywhere in what one whole start takes here
  const t0 = Date.now();
  t.equal((await podrun('start', f)).code, 0);
  const full = Date.now() - t0;
  t.equal((await podrun('rm', '-f', 'duo')).code, 0);
  let interrupted = 0;
  for (let i = 0; i < 50; i++) {
    let pid = 0;
    const at = 5 + Math.floor(Math.random() * full);
    const p = runCmd(podrunBin, ['--data-root', dataRoot, '--runroot', runRoot, 'start', f], { onSpawn: (x) => (pid = x) });
    await new Promise((r) => setTimeout(r, at));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* finished */
    }
    await p;
    const ids = podIds();
    if (ids.length && (await podrun('ps', '-a')).stdout.includes('Failed')) interrupted++;
    if (i % 2 === 0) {
      for (const id of ids) {
        const rm = await podrun('rm', '-f', id);
        t.equal(rm.code, 0, `rm after kill at ${at} ms: ${rm.stderr}`);
      }
    } else {
      const gc = await podrun('gc');
      t.equal(gc.code, 0, `gc after kill at ${at} ms: ${gc.stderr}`);
      // a pod whose start finished before the kill is a live pod: gc leaves it, rm removes it
      for (const id of podIds()) {
        const rec = JSON.parse(fs.readFileSync(path.join(runRoot, 'pods', id, 'pod.json'), 'utf8')) as { starter?: object };
        t.notOk(rec.starter, 'gc left only a pod whose start had finished');
        t.equal((await podrun('rm', '-f', id)).code, 0);
      }
    }
    t.same(podIds(), [], `nothing left after kill at ${at} ms`);
    t.same(fs.existsSync(path.join(dataRoot, 'pods')) ? fs.readdirSync(path.join(dataRoot, 'pods')) : [], [], 'no data dirs');
  }
  t.comment(`${interrupted} of 50 kills left a pod reported Failed (start interrupted)`);
  t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left');
});

t.test('cgroup tree podrun.slice/pod-<id>/ctr-<name>: pod limits are the sums, unenforceable ones reported', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('limited', `
apiVersion: v1
kind: Pod
metadata: { name: limited }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - name: a
      image: localhost/podrun/busybox
      command: [sleep, "60"]
      resources: { requests: { cpu: 250m }, limits: { cpu: 500m, memory: 64Mi, hugepages-2Mi: 4Mi } }
    - name: b
      image: localhost/podrun/busybox
      command: [sleep, "60"]
      resources: { limits: { cpu: "1", memory: 128Mi, hugepages-2Mi: 2Mi } }
`);
  const r = await podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  const id = /^limited ([0-9a-f]{12})/.exec(r.stdout)?.[1] as string;
  const pod = `/sys/fs/cgroup/unified/podrun.slice/pod-${id}`;
  const read = (p: string) => fs.readFileSync(p, 'utf8').trim();
  t.equal(read(`${pod}/hugetlb.2MB.max`), String(6 << 20), 'pod: hugepages summed (4Mi + 2Mi)');
  t.equal(read(`${pod}/ctr-a/hugetlb.2MB.max`), String(4 << 20), 'container a below it');
  t.equal(read(`${pod}/ctr-b/hugetlb.2MB.max`), String(2 << 20));
  // said once for the pod, in its own fields (this host's cgroup v2 lacks cpu and memory)
  t.equal(r.stderr.match(/not enforced/g)?.length, 1, `one warning: ${r.stderr}`);
  t.match(r.stderr, /warning: spec\.containers\[0\]\.resources\.\w+\.cpu, .*spec\.containers\[1\]\.resources\.limits\.memory: not enforced: this host's cgroup v2 offers no cpu, memory controllers to podrun/, 'the Pod\'s fields, reported once');
  const stats = JSON.parse((await podrun('stats', 'limited', '--json')).stdout) as Array<{ name: string; pod: { cpu?: object; unavailable: string[] }; containers: Array<{ name: string; stats: { cpu?: { usage: { total: number } } } }> }>;
  t.same(stats[0].containers.map((c) => c.name), ['a', 'b']);
  t.ok(stats[0].containers.every((c) => typeof c.stats.cpu?.usage.total === 'number'), 'cpu usage per container');
  t.ok(stats[0].pod.unavailable.includes('memory'), 'controllers the host lacks are named');
  t.match((await podrun('stats')).stdout, /^POD\s+CONTAINER\s+CPU\s+MEMORY\s+PIDS\s+IO \(R\/W\)\nlimited\s+\(pod\)\s+[\d.]+s\s+n\/a[\s\S]*\(n\/a: this host's cgroup v2 offers no memory, pids, io controller\)\n$/);
  t.equal((await podrun('rm', '-f', 'limited')).code, 0);
  t.notOk(fs.existsSync(pod), 'the pod cgroup is gone');
  t.same(await snapshotHost(), before);
});

t.test('restartPolicy: Always restarts with a doubling back-off from a fresh writable layer, OnFailure only failures; logs --previous; stop ends restarts', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('rs', `
apiVersion: v1
kind: Pod
metadata: { name: rs }
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  volumes: [{ name: w, emptyDir: {} }]
  initContainers:
    - name: flaky-init
      image: localhost/podrun/busybox
      command: [sh, -c, 'if [ -f /w/tried ]; then echo second try; exit 0; fi; touch /w/tried; echo first try; exit 1']
      volumeMounts: [{ name: w, mountPath: /w }]
  containers:
    - name: done
      image: localhost/podrun/busybox
      command: [sh, -c, '[ -e /written-by-an-earlier-run ] && echo stale >> /w/stale; touch /written-by-an-earlier-run; cut -d" " -f1 /proc/uptime >> /w/runs; echo "run $(wc -l < /w/runs)"']
      volumeMounts: [{ name: w, mountPath: /w }]
    - name: steady
      image: localhost/podrun/busybox
      command: [sleep, "100"]
      volumeMounts: [{ name: w, mountPath: /w }]
`);
  const r = await podrun('start', '--restart-backoff', '200', f);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /init container flaky-init failed \(exit 1\); restart 1 in/, 'a failed init container is restarted (Always → on failure)');
  await waitFor(async () => (await podrun('exec', 'rs', '-c', 'steady', '--', 'cat', '/w/runs')).stdout.trim().split('\n').length >= 4, 'four runs of "done"');
  const runs = (await podrun('exec', 'rs', '-c', 'steady', '--', 'cat', '/w/runs')).stdout.trim().split('\n').map(Number);
  const gaps = runs.slice(1).map((x, i) => x - runs[i]);
  gaps.slice(0, 3).forEach((g, k) => t.ok(g >= 0.2 * 2 ** k * 0.95, `restart ${k + 1} waited ≥ ${0.2 * 2 ** k} s (${g.toFixed(2)} s): exit 0 restarts too under Always`));
  t.equal((await podrun('exec', 'rs', '-c', 'steady', '--', 'cat', '/w/stale')).code, 1, 'each restart starts from a fresh writable layer (no file of an earlier run)');
  const st = JSON.parse((await podrun('inspect', 'rs')).stdout) as { status: { phase: string; initContainerStatuses: Array<{ restartCount: number; state: object }>; containerStatuses: Array<{ name: string; restartCount: number; lastState?: { terminated: { exitCode: number; reason: string } } }> } };
  t.equal(st.status.phase, 'Running');
  t.equal(st.status.initContainerStatuses[0].restartCount, 1);
  t.match(st.status.initContainerStatuses[0].state, { terminated: { exitCode: 0, reason: 'Completed' } });
  const done = st.status.containerStatuses.find((c) => c.name === 'done')!;
  t.ok(done.restartCount >= 3, `restartCount ${done.restartCount}`);
  t.match(done.lastState, { terminated: { exitCode: 0, reason: 'Completed' } });
  t.equal((await podrun('logs', 'rs', '-c', 'flaky-init')).stdout, 'second try\n', 'logs: the current run');
  t.equal((await podrun('logs', 'rs', '-c', 'flaky-init', '--previous')).stdout, 'first try\n', 'logs --previous: the run before');
  t.match((await podrun('logs', 'rs', '-c', 'steady', '--previous')).stderr, /previous terminated container steady in pod rs not found/);
  t.equal((await podrun('rm', 'rs')).code, 1, 'a restarting pod is running: rm refuses without -f');
  t.equal((await podrun('stop', 'rs')).code, 0);
  const stopped = (await podrun('exec', 'rs', '-c', 'steady', '--', 'true')).code;
  t.not(stopped, 0, 'stopped');
  const count = JSON.parse((await podrun('inspect', 'rs')).stdout).status.containerStatuses[0].restartCount as number;
  await new Promise((res) => setTimeout(res, 1500));
  t.equal(JSON.parse((await podrun('inspect', 'rs')).stdout).status.containerStatuses[0].restartCount, count, 'no restarts after stop');
  t.equal((await podrun('rm', 'rs')).code, 0);

  const g = await manifest('of', `
apiVersion: v1
kind: Pod
metadata: { name: of }
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 0
  containers:
    - { name: ok, image: localhost/podrun/busybox, command: [sh, -c, 'exit 0'] }
    - { name: bad, image: localhost/podrun/busybox, command: [sh, -c, 'exit 2'] }
`);
  t.equal((await podrun('start', '--restart-backoff', '100', g)).code, 0);
  await waitFor(async () => JSON.parse((await podrun('inspect', 'of')).stdout).status.containerStatuses[1].restartCount >= 2, 'bad restarted twice');
  const of = JSON.parse((await podrun('inspect', 'of')).stdout) as { status: { containerStatuses: Array<{ restartCount: number; state: object }> } };
  t.equal(of.status.containerStatuses[0].restartCount, 0, 'OnFailure: exit 0 is not restarted');
  t.match(of.status.containerStatuses[0].state, { terminated: { exitCode: 0, reason: 'Completed' } });
  t.equal((await podrun('rm', '-f', 'of')).code, 0, 'rm -f of a pod in back-off');
  t.same(await snapshotHost(), before, 'no monitors, mounts or cgroups left');
});

t.test('shareProcessNamespace: one PID namespace, pid 1 a reaping init that dies with the pod; without it, each container alone', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, runRoot, podId } = await env(t);
  const pod = (name: string, share: boolean) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  shareProcessNamespace: ${share}
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - { name: app, image: localhost/podrun/busybox, command: [sh, -c, 'exec sleep 3601'] }
    - { name: debug, image: localhost/podrun/busybox, command: [sleep, '3602'] }
`;
  t.equal((await podrun('start', await manifest('sh', pod('shared', true)))).code, 0);
  const seen = (await podrun('exec', 'shared', '-c', 'debug', '--', 'ps', '-o', 'pid,args')).stdout;
  t.match(seen, /^\s+1 podrun-pod-init --pod-init-reap$/m, 'pid 1 is the pod init (re-executed from the sealed view, so no host path shows)');
  t.match(seen, /sleep 3601/, 'debug sees app\'s process');
  t.match(seen, /sleep 3602/);
  // an orphan re-parented to pid 1 is reaped, not left a zombie
  await podrun('exec', 'shared', '-c', 'debug', '--', 'sh', '-c', '(sleep 0.2 &) ; true');
  await new Promise((r) => setTimeout(r, 600));
  t.notMatch((await podrun('exec', 'shared', '-c', 'app', '--', 'ps', '-o', 'stat,args')).stdout, /^Z/m, 'no zombies');
  const kill = await podrun('exec', 'shared', '-c', 'debug', '--', 'sh', '-c', 'kill $(ps -o pid,args | awk \'$2 == "sleep" && $3 == "3601" { print $1 }\')');
  t.equal(kill.code, 0, 'one container can signal another\'s process');
  await waitFor(async () => /terminated/.test(JSON.stringify(JSON.parse((await podrun('inspect', 'shared')).stdout).status.containerStatuses[0].state)), 'app terminated');
  const id = await podId('shared');
  const init = JSON.parse(fs.readFileSync(path.join(runRoot, 'pods', id, 'pod.json'), 'utf8')).podInit.pid as number;
  t.ok(fs.existsSync(`/proc/${init}`), 'the init lives while the pod does');

  t.equal((await podrun('start', await manifest('ns', pod('separate', false)))).code, 0);
  const alone = (await podrun('exec', 'separate', '-c', 'debug', '--', 'ps', '-o', 'pid,args')).stdout;
  t.notMatch(alone, /sleep 3601/, 'without it: the other container is not visible');
  t.match(alone, /^\s+1 sleep 3602/m, 'and the container is its own pid 1');

  for (const p of ['shared', 'separate']) t.equal((await podrun('rm', '-f', p)).code, 0);
  await waitFor(async () => processGone(init), 'the init gone');
  t.same(await snapshotHost(), before);
});

t.test('sidecars (init containers with restartPolicy Always): up before the next init container, restarted whatever the pod\'s policy, ready with the pod, stopped after the app containers; a Job\'s pod ends them', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, dataRoot, podId } = await env(t);
  const inspect = async (pod: string) => (JSON.parse((await podrun('inspect', pod)).stdout) as { status: { phase: string; conditions: Array<{ type: string; status: string }>; initContainerStatuses: CtrStatus[]; containerStatuses: CtrStatus[] } }).status;
  // the sidecar serves HTTP; the one-shot init container after it can only succeed if it already runs
  const serve = `trap 'echo "sidecar TERM" >> /w/order; exit 0' TERM; mkdir -p /www && echo from-sidecar > /www/index.html && httpd -p 127.0.0.1:8081 -h /www; while true; do if [ -f /w/crash ]; then rm /w/crash; exit 3; fi; sleep 0.1; done`;
  const f = await manifest('side', `
apiVersion: v1
kind: Pod
metadata: { name: side }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  volumes: [{ name: w, emptyDir: {} }]
  initContainers:
    - name: proxy
      image: localhost/podrun/busybox
      restartPolicy: Always
      command: [sh, -c, ${JSON.stringify(serve)}]
      volumeMounts: [{ name: w, mountPath: /w }]
      readinessProbe: { httpGet: { path: /, port: 8081, host: 127.0.0.1 }, periodSeconds: 1 }
    - name: setup
      image: localhost/podrun/busybox
      command: [sh, -c, 'wget -q -O /w/fetched http://127.0.0.1:8081/']
      volumeMounts: [{ name: w, mountPath: /w }]
  containers:
    - name: app
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "echo app TERM >> /w/order; exit 0" TERM; while true; do sleep 0.1; done']
      volumeMounts: [{ name: w, mountPath: /w }]
`);
  const r = await podrun('start', '--restart-backoff', '200', f);
  t.equal(r.code, 0, r.stderr);
  const vol = path.join(dataRoot, 'pods', await podId('side'), 'volumes', 'w');
  t.equal(fs.readFileSync(path.join(vol, 'fetched'), 'utf8'), 'from-sidecar\n', 'the init container after the sidecar reached it');
  await waitFor(async () => (await inspect('side')).conditions.find((c) => c.type === 'Ready')?.status === 'True', 'the pod Ready (its sidecar\'s readiness probe included)');
  let st = await inspect('side');
  t.equal(st.phase, 'Running');
  t.match(st.initContainerStatuses, [{ name: 'proxy', ready: true, started: true, state: { running: {} } }, { name: 'setup', state: { terminated: { exitCode: 0 } } }]);
  t.equal(st.conditions.find((c) => c.type === 'Initialized')?.status, 'True', 'initialized: the sidecar started, the other completed');
  // restarted although the pod says Never (it fails when it finds /w/crash)
  t.equal((await podrun('exec', 'side', '-c', 'app', '--', 'touch', '/w/crash')).code, 0);
  await waitFor(async () => (await inspect('side')).initContainerStatuses[0].restartCount >= 1 && 'running' in (await inspect('side')).initContainerStatuses[0].state, 'the sidecar restarted');
  t.equal((await podrun('stop', 'side')).code, 0);
  t.equal(fs.readFileSync(path.join(vol, 'order'), 'utf8'), 'app TERM\nsidecar TERM\n', 'the app container is stopped first, then the sidecar');
  st = await inspect('side');
  t.equal(st.phase, 'Succeeded', 'the phase is the app containers\'');
  t.equal((await podrun('rm', 'side')).code, 0);

  // a Job's pod: the app container completes, its sidecar is ended, the pod is done
  const job = await podrun('start', '--wait', await manifest('sidejob', `
apiVersion: v1
kind: Pod
metadata: { name: sidejob }
spec:
  restartPolicy: Never
  initContainers:
    - { name: logger, image: localhost/podrun/busybox, restartPolicy: Always, command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.1; done'] }
  containers:
    - { name: work, image: localhost/podrun/busybox, command: [sh, -c, 'echo worked'] }
`));
  t.equal(job.code, 0, job.stderr);
  t.match(job.stdout, /work: worked\nsidejob [0-9a-f]{12} Succeeded\n$/, 'done once its app container is');
  await waitFor(async () => 'terminated' in (await inspect('sidejob')).initContainerStatuses[0].state, 'the sidecar ended by the pod, not by rm');
  t.equal((await podrun('rm', 'sidejob')).code, 0, 'nothing of it runs: rm without --force');
  const bad = await podrun('start', await manifest('badside', `
apiVersion: v1
kind: Pod
metadata: { name: badside }
spec:
  initContainers: [{ name: s, image: localhost/podrun/busybox, restartPolicy: Always, startupProbe: { exec: { command: ['true'] } } }]
  containers: [{ name: c, image: localhost/podrun/busybox, restartPolicy: Always }]
`));
  t.match(bad.stderr, /spec\.containers\[0\]\.restartPolicy: may not be set for non-init containers/);
  // a sidecar's startupProbe holds the init containers after it: this one is up after ~1 s, and `check` fails the
  // pod (restartPolicy Never) if it runs before
  const probed = await podrun('start', '--wait', await manifest('sidestartup', `
apiVersion: v1
kind: Pod
metadata: { name: sidestartup }
spec:
  restartPolicy: Never
  volumes: [{ name: w, emptyDir: {} }]
  initContainers:
    - name: slow
      image: localhost/podrun/busybox
      restartPolicy: Always
      command: [sh, -c, 'trap "exit 0" TERM; sleep 1; touch /w/up; while true; do sleep 0.1; done']
      volumeMounts: [{ name: w, mountPath: /w }]
      startupProbe: { exec: { command: [test, -f, /w/up] }, periodSeconds: 1, failureThreshold: 30 }
    - { name: check, image: localhost/podrun/busybox, command: [test, -f, /w/up], volumeMounts: [{ name: w, mountPath: /w }] }
  containers:
    - { name: c, image: localhost/podrun/busybox, command: [echo, after] }
`));
  t.equal(probed.code, 0, probed.stderr);
  t.match(probed.stdout, /c: after\nsidestartup [0-9a-f]{12} Succeeded\n$/, 'the init container after the sidecar ran once its startup probe passed');
  t.equal((await podrun('rm', '-f', 'sidestartup')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('lifecycle.stopSignal stops the container with that signal (stop, and a liveness probe\'s kill), else the image\'s StopSignal', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, containerOf, runRoot } = await env(t);
  const f = await manifest('sig', `
apiVersion: v1
kind: Pod
metadata: { name: sig }
spec:
  os: { name: linux }
  restartPolicy: Never
  containers:
    - name: usr1
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "echo got USR1; exit 0" USR1; trap "echo got TERM; exit 1" TERM; while true; do sleep 0.1; done']
      lifecycle: { stopSignal: SIGUSR1 }
    - name: probed
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "echo got QUIT; exit 0" QUIT; while true; do sleep 0.1; done']
      lifecycle: { stopSignal: SIGQUIT }
      livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 }
`);
  t.equal((await podrun('start', f)).code, 0);
  await waitFor(async () => 'terminated' in (await containerOf('sig', 'probed')).state, 'probed ended by its probe', 10_000);
  t.equal((await podrun('logs', 'sig', '-c', 'probed')).stdout, 'got QUIT\n', 'the probe\'s kill sent SIGQUIT');
  t.equal((await podrun('stop', 'sig')).code, 0);
  t.equal((await podrun('logs', 'sig', '-c', 'usr1')).stdout, 'got USR1\n', 'stop sent SIGUSR1');
  t.equal((await podrun('rm', 'sig')).code, 0);

  // without one, the image's StopSignal (its config's, as containerd reads it)
  const { fixtures } = await import('../helpers');
  const { layoutBlobs } = await import('../support/oci-layout');
  const layout = path.join(runRoot, 'stopsig-layout');
  fs.cpSync((await fixtures()).images['busybox-gzip'], layout, { recursive: true });
  const { readJson, put } = layoutBlobs(layout);
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const m = readJson<{ config: { digest: string; size: number } }>(index.manifests[0].digest);
  const cfg = readJson<{ config: Record<string, unknown> }>(m.config.digest);
  const newManifest = put(JSON.stringify({ ...m, config: { ...m.config, ...put(JSON.stringify({ ...cfg, config: { ...cfg.config, StopSignal: 'SIGUSR2' } })) } }));
  index.manifests[0] = { ...index.manifests[0], ...newManifest };
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
  t.equal((await podrun('load', '-q', '--name', 'localhost/podrun/stopsig', layout)).code, 0);
  const g = await manifest('imgsig', `
apiVersion: v1
kind: Pod
metadata: { name: imgsig }
spec:
  containers:
    - { name: c, image: localhost/podrun/stopsig, command: [sh, -c, 'trap "echo got USR2; exit 0" USR2; while true; do sleep 0.1; done'] }
`);
  t.equal((await podrun('start', g)).code, 0);
  t.equal((await podrun('stop', 'imgsig')).code, 0);
  t.equal((await podrun('logs', 'imgsig')).stdout, 'got USR2\n', 'stop sent the image\'s StopSignal');
  t.equal((await podrun('rm', 'imgsig')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('lifecycle hooks httpGet and sleep: GETs in the pod\'s network (any answer will do, none is a failed postStart), a pause before SIGTERM', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  // a server that prints each request line it gets, answering 404 (kubelet fails a hook on no answer, not on a status)
  const serve = `while true; do printf 'HTTP/1.0 404 Not Found\\r\\n\\r\\n' | nc -l -p 8080 | head -1; done`;
  const f = await manifest('httphooks', `
apiVersion: v1
kind: Pod
metadata: { name: httphooks }
spec:
  terminationGracePeriodSeconds: 3  # the web loop (nc in the foreground) waits for the SIGKILL
  containers:
    - name: web
      image: localhost/podrun/busybox
      command: [sh, -c, ${JSON.stringify(serve)}]
      ports: [{ name: http, containerPort: 8080 }]
    - name: hooked
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.1; done']
      lifecycle:
        postStart: { httpGet: { path: /post-start, port: 8080, httpHeaders: [{ name: X-Hook, value: post }] } }
        preStop: { httpGet: { path: /pre-stop, port: 8080 } }
    - name: paused
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.1; done']
      lifecycle: { preStop: { sleep: { seconds: 2 } } }
    - name: unanswered
      image: localhost/podrun/busybox
      command: [sleep, '100']
      lifecycle: { postStart: { httpGet: { path: /, port: 9 } } }
`);
  const r = await podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /container unanswered: postStart hook failed: GET \/ on port 9: dial tcp [0-9.]+:9: Connection refused; killing the container \(FailedPostStartHook\)/);
  await waitFor(async () => /GET \/post-start HTTP/.test((await podrun('logs', 'httphooks', '-c', 'web')).stdout), 'the postStart GET at the web container');
  const t0 = Date.now();
  t.equal((await podrun('stop', 'httphooks')).code, 0);
  // the sleep hook holds the stop (and so the pod's other containers' SIGTERM) for its 2 s: never less
  t.ok(Date.now() - t0 >= 1900, `stop waited for the preStop sleep (${Date.now() - t0} ms)`);
  t.match((await podrun('logs', 'httphooks', '-c', 'web')).stdout, /GET \/pre-stop HTTP/, 'the preStop GET reached the web container before it was stopped');
  t.equal((await podrun('rm', 'httphooks')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('lifecycle hooks: postStart runs in the container (a failing one kills it), preStop before SIGTERM; start --wait --rm', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, dataRoot, runRoot, podId } = await env(t);
  const f = await manifest('hooks', `
apiVersion: v1
kind: Pod
metadata: { name: hooks }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  volumes: [{ name: w, emptyDir: {} }]
  containers:
    - name: app
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "echo got TERM; exit 0" TERM; while true; do sleep 0.1; done']
      volumeMounts: [{ name: w, mountPath: /w }]
      lifecycle:
        postStart: { exec: { command: [sh, -c, 'echo "post-start ran in $HOSTNAME" > /w/post; echo hook-output'] } }
        preStop: { exec: { command: [sh, -c, 'echo "pre-stop ran" > /w/pre; ls /w/post >> /w/pre'] } }
    - name: bad
      image: localhost/podrun/busybox
      command: [sleep, '100']
      lifecycle:
        postStart: { exec: { command: [sh, -c, 'echo "cannot set up" >&2; exit 3'] } }
`);
  const r = await podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /hook-output/, 'hook output is not on podrun\'s stdout');
  t.match(r.stderr, /container bad: postStart hook exited with 3: cannot set up; killing the container \(FailedPostStartHook\)/);
  const id = await podId('hooks');
  const vol = path.join(dataRoot, 'pods', id, 'volumes', 'w');
  t.equal(fs.readFileSync(path.join(vol, 'post'), 'utf8'), 'post-start ran in hooks\n', 'postStart ran inside the container');
  await waitFor(async () => /terminated/.test(JSON.stringify((JSON.parse((await podrun('inspect', 'hooks')).stdout) as { status: { containerStatuses: Array<{ state: object }> } }).status.containerStatuses[1].state)), 'bad killed');
  t.equal((await podrun('stop', 'hooks')).code, 0);
  t.equal(fs.readFileSync(path.join(vol, 'pre'), 'utf8'), 'pre-stop ran\n/w/post\n', 'preStop ran before the stop');
  t.equal((await podrun('logs', 'hooks', '-c', 'app')).stdout, 'got TERM\n', 'then SIGTERM');
  t.ok(fs.existsSync(path.join(runRoot, 'pods', id, 'hooks', 'app.postStart')), 'hook output kept in the pod state');
  t.equal((await podrun('rm', 'hooks')).code, 0);
  const bad = await podrun('start', await manifest('bad', `
apiVersion: v1
kind: Pod
metadata: { name: badhook }
spec:
  initContainers: [{ name: i, image: localhost/podrun/busybox, lifecycle: { postStart: { exec: { command: ['true'] } } } }]
  containers: [{ name: c, image: localhost/podrun/busybox, lifecycle: { preStop: { tcpSocket: { port: 80 } }, postStart: { sleep: { seconds: 1 }, exec: { command: ['true'] } } } }]
`));
  t.match(bad.stderr, /spec\.initContainers\[0\]\.lifecycle: must not be set for init containers/);
  t.match(bad.stderr, /spec\.containers\[0\]\.lifecycle\.postStart: exactly one handler is required \(exec, httpGet or sleep\), got 2/);
  t.match(bad.stderr, /spec\.containers\[0\]\.lifecycle\.preStop\.tcpSocket: not a hook kubelet runs/);

  const job = await podrun('start', '--wait', '--rm', await manifest('job', `
apiVersion: v1
kind: Pod
metadata: { name: job }
spec:
  restartPolicy: Never
  containers:
    - { name: a, image: localhost/podrun/busybox, command: [sh, -c, 'echo one; echo two'] }
    - { name: b, image: localhost/podrun/busybox, command: [sh, -c, 'sleep 0.3; echo three'] }
`));
  t.equal(job.code, 0, job.stderr);
  t.equal(job.stdout, `a: one\na: two\nb: three\njob ${/job ([0-9a-f]{12})/.exec(job.stdout)?.[1]} Succeeded\n`, '--wait prints each container\'s output, then the phase');
  t.same(fs.readdirSync(path.join(runRoot, 'pods')), [], '--rm removed it');
  const failing = await podrun('start', '--wait', '--rm', await manifest('fail', `
apiVersion: v1
kind: Pod
metadata: { name: failing }
spec:
  restartPolicy: Never
  containers: [{ name: a, image: localhost/podrun/busybox, command: [sh, -c, 'exit 4'] }]
`));
  t.equal(failing.code, 1, 'a Failed pod: exit 1');
  t.match(failing.stdout, /failing [0-9a-f]{12} Failed/);
  const rmAlone = await podrun('start', '--rm', path.join(dataRoot, 'job.yaml'));
  t.equal(rmAlone.code, 1);
  t.match(rmAlone.stderr, /--rm needs --wait/);
  t.same(fs.readdirSync(path.join(runRoot, 'pods')), [], '--rm without --wait is refused before anything starts');
  t.same(await snapshotHost(), before);
});

t.test('postStart runs again after each restart (the prober runs it), as kubelet runs it on every start', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('ph', `
apiVersion: v1
kind: Pod
metadata: { name: ph }
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 0
  volumes: [{ name: w, emptyDir: {} }]
  containers:
    - name: flaky
      image: localhost/podrun/busybox
      command: [sh, -c, 'echo run >> /w/runs; sleep 0.5; exit 1']
      lifecycle: { postStart: { exec: { command: [sh, -c, 'echo hook >> /w/hooks'] } } }
      volumeMounts: [{ name: w, mountPath: /w }]
    - name: steady
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      volumeMounts: [{ name: w, mountPath: /w }]
`);
  t.equal((await podrun('start', '--restart-backoff', '100', f)).code, 0);
  const lines = async (file: string) => (await podrun('exec', 'ph', '-c', 'steady', '--', 'cat', file)).stdout.split('\n').filter(Boolean).length;
  await waitFor(async () => (await lines('/w/hooks')) >= 3, 'three postStart runs', 15000);
  // hooks first: each hook follows its run, so runs read later can only be as many or more (read the other
  // way round, a restart between the two reads counted a hook whose run came after the count)
  const hooks = await lines('/w/hooks');
  const runs = await lines('/w/runs');
  t.ok(runs >= 3 && hooks <= runs, `postStart ran ${hooks} times for ${runs} runs`);
  t.equal((await podrun('rm', '-f', 'ph')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('seccompProfile RuntimeDefault filters the container (and exec into it); Unconfined does not', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('sc', `
apiVersion: v1
kind: Pod
metadata: { name: sc }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - { name: open, image: localhost/podrun/busybox, command: [sleep, '100'] }
    - name: confined
      image: localhost/podrun/busybox
      command: [sleep, '100']
      securityContext: { seccompProfile: { type: RuntimeDefault } }
`);
  t.equal((await podrun('start', f)).code, 0);
  const open = await podrun('exec', 'sc', '-c', 'open', '--', 'unshare', '-U', 'true');
  t.equal(open.code, 0, `Unconfined: a user namespace can be made (${open.stderr})`);
  const confined = await podrun('exec', 'sc', '-c', 'confined', '--', 'unshare', '-U', 'true');
  t.equal(confined.code, 1);
  t.match(confined.stderr, /unshare.*Operation not permitted/, 'RuntimeDefault: unshare is refused');
  t.match((await podrun('exec', 'sc', '-c', 'confined', '--', 'grep', 'Seccomp:', '/proc/self/status')).stdout, /Seccomp:\s+2/, 'filter mode');
  t.equal((await podrun('rm', '-f', 'sc')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('exec probes: readiness gates ready, a failing liveness or startup probe kills the container; the prober leaves with the pod', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, runRoot, containerOf, podId } = await env(t);
  const f = await manifest('pr', `
apiVersion: v1
kind: Pod
metadata: { name: pr }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - name: web
      image: localhost/podrun/busybox
      command: [sleep, '100']
      readinessProbe: { exec: { command: [test, -f, /tmp/ready] }, periodSeconds: 1 }
    - name: live
      image: localhost/podrun/busybox
      command: [sleep, '100']
      livenessProbe: { exec: { command: [sh, -c, 'test ! -f /tmp/die'] }, periodSeconds: 1, failureThreshold: 2 }
    - name: slow
      image: localhost/podrun/busybox
      command: [sleep, '100']
      startupProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 }
      livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1 }
`);
  t.equal((await podrun('start', f)).code, 0);
  const ctr = (name: string) => containerOf('pr', name);
  await new Promise((r) => setTimeout(r, 1300));
  t.equal((await ctr('web')).ready, false, 'not ready while its readiness probe fails');
  t.equal((await ctr('live')).ready, true, 'no readiness probe: ready when running');
  t.equal((await ctr('slow')).started, false, 'started only after its startup probe passes');
  await podrun('exec', 'pr', '-c', 'web', '--', 'touch', '/tmp/ready');
  await waitFor(async () => (await ctr('web')).ready, 'web ready', 5000);
  await podrun('exec', 'pr', '-c', 'live', '--', 'touch', '/tmp/die');
  await waitFor(async () => 'terminated' in (await ctr('live')).state, 'live killed', 8000);
  t.match(await ctr('live'), { state: { terminated: { exitCode: 137 } }, lastProbeFailure: /liveness probe failed 2 times: exit 1/ });
  await waitFor(async () => 'terminated' in (await ctr('slow')).state, 'slow killed', 8000);
  t.match((await ctr('slow')).lastProbeFailure, /startup probe failed 2 times/);
  t.equal((await ctr('web')).ready, true, 'the others go on');
  const prober = (JSON.parse(fs.readFileSync(path.join(runRoot, 'pods', await podId('pr'), 'pod.json'), 'utf8')) as { prober: { pid: number } }).prober.pid;
  t.ok(fs.existsSync(`/proc/${prober}`), 'a prober runs');
  t.equal((await podrun('rm', '-f', 'pr')).code, 0);
  await waitFor(async () => processGone(prober), 'the prober gone');
  t.same(await snapshotHost(), before);
});

t.test('a liveness probe that gives up kills as kubelet does: preStop, SIGTERM, SIGKILL after the probe\'s terminationGracePeriodSeconds (else the pod\'s)', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, containerOf, dataRoot, podId } = await env(t);
  const f = await manifest('gk', `
apiVersion: v1
kind: Pod
metadata: { name: gk }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 60
  volumes: [{ name: w, emptyDir: {} }]
  containers:
    - name: polite
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "echo got TERM; exit 0" TERM; while true; do sleep 0.1; done']
      volumeMounts: [{ name: w, mountPath: /w }]
      livenessProbe: { exec: { command: [sh, -c, 'test ! -f /w/die'] }, periodSeconds: 1, failureThreshold: 1 }
      lifecycle: { preStop: { exec: { command: [sh, -c, 'echo pre-stop > /w/pre'] } } }
    - name: stubborn
      image: localhost/podrun/busybox
      command: [sh, -c, 'trap "" TERM; while true; do sleep 0.1; done']
      volumeMounts: [{ name: w, mountPath: /w }]
      livenessProbe: { exec: { command: [sh, -c, 'test ! -f /w/die'] }, periodSeconds: 1, failureThreshold: 1, terminationGracePeriodSeconds: 2 }
`);
  t.equal((await podrun('start', f)).code, 0);
  t.equal((await podrun('exec', 'gk', '-c', 'polite', '--', 'touch', '/w/die')).code, 0);
  await waitFor(async () => 'terminated' in (await containerOf('gk', 'polite')).state, 'polite ended by its probe', 10_000);
  t.match(await containerOf('gk', 'polite'), { state: { terminated: { exitCode: 0 } }, lastProbeFailure: /liveness probe failed 1 times/ }, 'it heard SIGTERM and left on its own');
  t.equal((await podrun('logs', 'gk', '-c', 'polite')).stdout, 'got TERM\n');
  // read on the host: the stubborn container's own probe (the same file) is ending it meanwhile
  t.equal(fs.readFileSync(path.join(dataRoot, 'pods', await podId('gk'), 'volumes', 'w', 'pre'), 'utf8'), 'pre-stop\n', 'its preStop ran first');
  // the stubborn one ignores SIGTERM: SIGKILL after its probe's 2 s, not the pod's 60
  await waitFor(async () => 'terminated' in (await containerOf('gk', 'stubborn')).state, 'stubborn SIGKILLed after the probe\'s grace', 15_000);
  t.match(await containerOf('gk', 'stubborn'), { state: { terminated: { exitCode: 137 } } });
  t.equal((await podrun('rm', '-f', 'gk')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('tcpSocket and httpGet probes run inside the pod network: 2xx/3xx ready, 404 not, a closed port kills; named ports', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, containerOf } = await env(t);
  const f = await manifest('np', `
apiVersion: v1
kind: Pod
metadata: { name: np }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - name: web
      image: localhost/podrun/busybox
      ports: [{ name: http, containerPort: 8080 }]
      command: [sh, -c, 'mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www']
      readinessProbe: { httpGet: { path: /healthz, port: http, httpHeaders: [{ name: X-Probe, value: podrun }] }, periodSeconds: 1 }
      livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
    - name: missing
      image: localhost/podrun/busybox
      command: [sh, -c, 'mkdir -p /www && exec httpd -f -p 8081 -h /www']
      readinessProbe: { httpGet: { path: /nope, port: 8081 }, periodSeconds: 1 }
    - name: dead
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 }
`);
  t.equal((await podrun('start', f)).code, 0);
  const ctr = (name: string) => containerOf('np', name);
  await waitFor(async () => (await ctr('web')).ready, 'web ready (httpGet 200 on a named port, in a loopback-only pod)', 8000);
  await waitFor(async () => 'terminated' in (await ctr('dead')).state, 'dead killed', 8000);
  t.match(await ctr('dead'), { state: { terminated: { exitCode: 137 } }, lastProbeFailure: /liveness probe failed 2 times: dial tcp 127\.0\.0\.1:9999: Connection refused/ });
  t.equal((await ctr('missing')).ready, false, 'a 404 is a failure');
  t.match(await ctr('web'), { ready: true, state: { running: {} } }, 'the tcp liveness probe of a listening port passes');
  t.equal((await podrun('rm', '-f', 'np')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('grpc probes: grpc.health.v1 Check of a service, healthy only while it answers SERVING', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, containerOf, runRoot } = await env(t);
  const { startHealthServer } = await import('../support/grpc-health-server');
  // service "ready" answers what `serving` says, others NOT_FOUND
  let serving = true;
  const { port, stop } = await startHealthServer('127.0.0.1', () => !serving);
  t.teardown(stop);
  // hostNetwork: the pod's 127.0.0.1 is the host's, where the server listens
  const f = await manifest('gp', `
apiVersion: v1
kind: Pod
metadata: { name: gp }
spec:
  hostNetwork: true
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
    - name: app
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      readinessProbe: { grpc: { port: ${port}, service: ready }, periodSeconds: 1 }
    - name: unknown
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      livenessProbe: { grpc: { port: ${port}, service: other }, periodSeconds: 1, failureThreshold: 2 }
`);
  t.equal((await podrun('start', f)).code, 0);
  await waitFor(async () => (await containerOf('gp', 'app')).ready, 'ready while SERVING', 8000);
  serving = false;
  await waitFor(async () => !(await containerOf('gp', 'app')).ready, 'unready once NOT_SERVING', 8000);
  await waitFor(async () => 'terminated' in (await containerOf('gp', 'unknown')).state, 'an unknown service fails the liveness probe', 8000);
  t.match((await containerOf('gp', 'unknown')).lastProbeFailure, /liveness probe failed 2 times: rpc error: code = 5 desc = unknown service/);
  t.equal((await podrun('rm', '-f', 'gp')).code, 0);
  // a pod of its own network: the probe is made from inside its namespace, where the server runs too
  const own = await manifest('gn', `
apiVersion: v1
kind: Pod
metadata: { name: gn }
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - { name: app, image: localhost/podrun/busybox, command: [sleep, '3600'], readinessProbe: { grpc: { port: 50051, service: ready }, periodSeconds: 1 } }
`);
  t.equal((await podrun('start', own)).code, 0);
  const id = (JSON.parse((await podrun('inspect', 'gn')).stdout) as { id: string }).id;
  const flag = path.join(runRoot, 'not-serving');
  const { spawn } = await import('node:child_process');
  const srv = spawn('nsenter', [`--net=${path.join(runRoot, 'pods', id, 'ns', 'net')}`, process.execPath,
    path.join(__dirname, '..', 'support', 'grpc-health-server.js'), '127.0.0.1', '50051', flag], { stdio: 'ignore' });
  t.teardown(() => void srv.kill('SIGKILL'));
  await waitFor(async () => (await containerOf('gn', 'app')).ready, 'ready: the probe reached the server in the pod\'s network namespace', 10_000);
  fs.writeFileSync(flag, '');
  await waitFor(async () => !(await containerOf('gn', 'app')).ready, 'unready once NOT_SERVING', 8000);
  await new Promise((resolve) => {
    srv.once('exit', resolve);
    srv.kill('SIGKILL');
  });
  t.equal((await podrun('rm', '-f', 'gn')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('HTTPS httpGet probes: TLS without verifying the certificate, as kubelet; 2xx/3xx healthy', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest, containerOf, runRoot } = await env(t);
  // a self-signed certificate: kubelet does not verify a pod's, nor does podrun
  const key = path.join(runRoot, 'key.pem');
  const cert = path.join(runRoot, 'cert.pem');
  t.equal((await runCmd('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=pod', '-days', '1', '-keyout', key, '-out', cert])).code, 0);
  const https = await import('node:https');
  const seen: string[] = [];
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    seen.push(`${req.url} ${req.headers['x-probe'] ?? ''}`);
    res.writeHead(req.url === '/healthz' ? 200 : 404).end();
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  t.teardown(() => void server.close());
  const f = await manifest('hs', `
apiVersion: v1
kind: Pod
metadata: { name: hs }
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 0
  containers:
    - name: ok
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      readinessProbe: { httpGet: { scheme: HTTPS, path: /healthz, port: ${port}, httpHeaders: [{ name: X-Probe, value: tls }] }, periodSeconds: 1 }
    - name: missing
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      readinessProbe: { httpGet: { scheme: HTTPS, path: /nope, port: ${port} }, periodSeconds: 1 }
`);
  t.equal((await podrun('start', f)).code, 0);
  await waitFor(async () => (await containerOf('hs', 'ok')).ready, 'ready over HTTPS', 8000);
  await waitFor(async () => seen.includes('/nope '), 'the other probe asked too', 8000);
  t.equal((await containerOf('hs', 'missing')).ready, false, 'a 404 over HTTPS is a failure');
  t.ok(seen.includes('/healthz tls'), 'with its headers');
  t.equal((await podrun('rm', '-f', 'hs')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('activeDeadlineSeconds fails the pod in time; podrun events reports what happened until the end', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('dl', `
apiVersion: v1
kind: Pod
metadata: { name: deadline }
spec:
  activeDeadlineSeconds: 2
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
    - { name: a, image: localhost/podrun/busybox, command: [sleep, '100'] }
    - { name: b, image: localhost/podrun/busybox, command: [sh, -c, 'sleep 0.5; exit 3'] }
`);
  t.equal((await podrun('start', f)).code, 0);
  const ev = await podrun('events', 'deadline', '--json');
  t.equal(ev.code, 0, ev.stderr);
  const events = ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; container?: string; phase?: string; reason?: string; exitCode?: number });
  t.match(events[0], { type: 'PhaseChanged', phase: 'Running' });
  t.ok(events.some((e) => e.type === 'ContainerTerminated' && e.container === 'b' && e.exitCode === 3), 'b\'s exit');
  t.ok(events.some((e) => e.type === 'ContainerTerminated' && e.container === 'a'), 'a stopped at the deadline');
  t.ok(events.some((e) => e.type === 'PhaseChanged' && e.phase === 'Failed' && /^DeadlineExceeded/.test(e.reason ?? '')), 'Failed, DeadlineExceeded');
  t.match(events.filter((e) => e.type !== 'ContainerReady').pop(), { type: 'ContainerTerminated', container: 'a' }, 'events end once nothing runs');
  t.equal((await podrun('rm', 'deadline')).code, 0);
  t.same(await snapshotHost(), before);
});

t.test('ConfigMaps and Secrets from the same file: env values, read-only volumes, the secret on a tmpfs that rm unmounts', async (t) => {
  const before = await snapshotHost();
  const { podrun, manifest } = await env(t);
  const f = await manifest('cm', fs.readFileSync(path.join(__dirname, '../../../examples/pods/configmap-secret.yaml'), 'utf8'));
  const r = await podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  await waitFor(async () => (await podrun('logs', 'config-demo')).stdout.includes('password'), 'the output');
  const out = (await podrun('logs', 'config-demo')).stdout;
  t.match(out, /^hello from a configmap, admin\nlisten 8080;\n/, 'env from configMapKeyRef and secretKeyRef; the configMap\'s file');
  t.match(out, /-r-------- .* 6 .* password/, 'defaultMode 0400 (YAML 1.1 octal, as kubectl reads it)');
  t.equal((await podrun('exec', 'config-demo', '--', 'cat', '/run/secrets/db/password')).stdout, 's3cr3t');
  t.match((await podrun('exec', 'config-demo', '--', 'grep', '/run/secrets', '/proc/mounts')).stdout, /^tmpfs \/run\/secrets tmpfs ro,/, 'secret volume: a read-only tmpfs');
  t.not((await podrun('exec', 'config-demo', '--', 'touch', '/etc/web/x')).code, 0, 'configMap volume: read-only');
  const missing = await podrun('start', await manifest('m', fs.readFileSync(f, 'utf8').replace(/apiVersion: v1\nkind: Secret[\s\S]*?---\n/, '').replace('config-demo', 'no-secret')));
  t.equal(missing.code, 1);
  t.match(missing.stderr, /spec\.volumes\[1\]\.secret: Secret creds was not given/);
  t.equal((await podrun('rm', '-f', 'config-demo')).code, 0);
  t.same(await snapshotHost(), before, 'the secret tmpfs is gone with the pod');
});
