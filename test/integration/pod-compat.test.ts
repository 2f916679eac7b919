/** Pod manifests as kubelet runs them (issue "kubectl parity"), checked inside
 * the containers, as root. */
import fs from 'node:fs';
import t from 'tap';
import { podEnv } from '../helpers';

t.test('$(VAR) in env values, command and args expands as kubelet does; $$ escapes; unknown stays', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('expand', `
apiVersion: v1
kind: Pod
metadata: { name: expand }
spec:
  restartPolicy: Never
  containers:
    - name: c
      image: localhost/podrun/busybox
      env:
        - { name: GREETING, value: hello }
        - { name: TARGET, value: "$(GREETING) world" }
        - { name: LATER, value: "$(DEFINED_AFTER)" }
        - { name: DEFINED_AFTER, value: late }
        - { name: POD, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
        - { name: FROM_POD, value: "pod=$(POD)" }
      # printf prints its arguments as they arrive: what kubelet's expansion made of them, no shell in between
      command: [printf, "%s|%s|%s|%s|%s|%s\\n"]
      args: ['$(TARGET)', '$(LATER)', '$(FROM_POD)', '$$(TARGET)', '$(NOPE)', '$TARGET']
`);
  const r = await e.podrun('start', '--wait', '--rm', f);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^c: hello world\|\$\(DEFINED_AFTER\)\|pod=expand\|\$\(TARGET\)\|\$\(NOPE\)\|\$TARGET$/m,
    'values expanded in order, a later name not; command/args against them all; $$ escapes; unknown and $NAME kept');
});

t.test('exec of a command that is not there exits 127, of one that cannot be executed 126 (as kubectl and podman)', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('ex', `
apiVersion: v1
kind: Pod
metadata: { name: ex }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sleep, "1000"] }]
`);
  t.equal((await e.podrun('start', f)).code, 0);
  const missing = await e.podrun('exec', 'ex', '--', '/no/such/binary');
  t.equal(missing.code, 127);
  t.match(missing.stderr, /^podrun: exec "\/no\/such\/binary": ENOENT\n$/, 'said without the OCI field');
  const notExec = await e.podrun('exec', 'ex', '--', '/etc/passwd');
  t.equal(notExec.code, 126);
  t.equal((await e.podrun('exec', 'ex', '--', 'sh', '-c', 'exit 7')).code, 7, 'the command\'s own status otherwise');
});

t.test('unknown fields: refused by default naming the field, run with --validate=warn (kubectl\'s --validate)', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('typo', `
apiVersion: v1
kind: Pod
metadata: { name: typo }
spec:
  restartPolicy: Never
  containers:
    - { name: c, image: localhost/podrun/busybox, comand: [echo, typo], args: [echo, ran-anyway] }
`);
  const strict = await e.podrun('start', f);
  t.equal(strict.code, 1);
  t.match(strict.stderr, /spec\.containers\[0\]\.comand: unknown field/);
  t.equal((await e.podrun('ps', '-a')).stdout.includes('typo'), false, 'nothing made');
  t.match((await e.podrun('start', '--validate=bogus', f)).stderr, /--validate bogus: expected strict, warn or ignore/);
  const warned = await e.podrun('start', '--validate=warn', '--wait', '--rm', f);
  t.equal(warned.code, 0, warned.stderr);
  t.match(warned.stderr, /spec\.containers\[0\]\.comand: unknown field/);
  t.match(warned.stdout, /ran-anyway/, 'the typo\'d field is not acted on: args ran in place of the image\'s Cmd');
});

t.test('fsGroup: volumes group-owned with setgid directories, files written there stay in the group (kubelet\'s ownership)', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('fsg', `
apiVersion: v1
kind: Pod
metadata: { name: fsg }
spec:
  restartPolicy: Never
  securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000 }
  volumes:
    - { name: scratch, emptyDir: {} }
    - { name: mem, emptyDir: { medium: Memory } }
    - { name: cfg, configMap: { name: cfg } }
  containers:
    - name: c
      image: localhost/podrun/busybox
      volumeMounts: [{ name: scratch, mountPath: /s }, { name: mem, mountPath: /m }, { name: cfg, mountPath: /cfg }]
      command: [sh, -c, 'touch /s/made /m/made && stat -c "%n %g %A" /s /m /s/made /m/made /cfg/k && id -G']
---
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { k: v }
`);
  const r = await e.podrun('start', '--wait', '--rm', f);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.replace(/^c: /gm, '').trim().split('\n');
  t.same(lines.slice(0, 5), [
    '/s 2000 drwxrwsrwx',
    '/m 2000 drwxrwsrwt',
    '/s/made 2000 -rw-r--r--',
    '/m/made 2000 -rw-r--r--',
    '/cfg/k 2000 -rw-r--r--',
  ], 'directories setgid in group 2000, the container\'s new files inherit it');
  t.match(lines[5], /^3000( \d+)* 2000/, 'fsGroup is a supplementary group');
});

t.test('privileged: every capability podrun holds (said once which the host withholds) and the host\'s devices', async (t) => {
  const e = await podEnv(t);
  const hostDevice = ['/dev/mem', '/dev/loop-control', '/dev/kmsg', '/dev/vda', '/dev/sda'].find((d) => fs.existsSync(d));
  const f = e.manifest('priv', `
apiVersion: v1
kind: Pod
metadata: { name: priv }
spec:
  restartPolicy: Never
  containers:
    - name: a
      image: localhost/podrun/busybox
      securityContext: { privileged: true }
      command: [sh, -c, 'grep CapEff /proc/self/status; ls ${hostDevice ?? '/dev/null'}; grep -c . /proc/self/mounts >/dev/null']
    - name: b
      image: localhost/podrun/busybox
      securityContext: { privileged: true }
      command: ['true']
`);
  const r = await e.podrun('start', '--wait', '--rm', f);
  t.equal(r.code, 0, r.stderr);
  const held = /CapPrm:\s+([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  t.match(r.stdout, new RegExp(`^a: CapEff:\\s+${held}$`, 'm'), 'the container holds what podrun holds');
  if (hostDevice) t.match(r.stdout, new RegExp(`^a: ${hostDevice}$`, 'm'), `${hostDevice} from the host`);
  const full = BigInt(`0x${held}`) === (1n << 41n) - 1n;
  const said = r.stderr.match(/withholds/g) ?? [];
  t.equal(said.length, full ? 0 : 1, 'what the host withholds is said once for the pod');
  if (!full) t.match(r.stderr, /spec\.containers\[0\]\.securityContext\.privileged, spec\.containers\[1\]\.securityContext\.privileged: this host withholds CAP_/);
});

t.test('several Pods in a file or a List, from a file or stdin; ps and inspect as kubectl prints them', async (t) => {
  const e = await podEnv(t);
  const pod = (name: string, app: string): string => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: ${app} } }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sh, -c, 'seq 1 5; sleep 1000'] }]
`;
  const two = e.manifest('two', `${pod('one', 'web')}---${pod('two', 'db')}`);
  const r = await e.podrun('start', two);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^one [0-9a-f]{12} Running\ntwo [0-9a-f]{12} Running\n$/);
  // a List on stdin; one of its pods is refused by name while the other starts
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'three', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'localhost/podrun/busybox', command: ['sleep', '1000'] }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one' }, spec: { containers: [{ name: 'c', image: 'localhost/podrun/busybox' }] } },
  ] });
  const fed = await e.podrunFed(list, 'start', '-');
  t.equal(fed.code, 1);
  t.match(fed.stdout, /^three [0-9a-f]{12} Running\n$/);
  t.match(fed.stderr, /pod one: .*one/, 'the one already there is refused by name');
  t.match((await e.podrunFed('kind: Pod\nmetadata: {}\n', 'start', '-')).stderr, /stdin: invalid Pod/, 'errors name stdin');

  t.equal((await e.podrun('ps', '-q')).stdout.trim().split('\n').length, 3);
  t.equal((await e.podrun('ps', '-o', 'name', '-l', 'app=web')).stdout, 'pod/one\npod/three\n');
  t.equal((await e.podrun('ps', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}', '-l', 'app!=web')).stdout, 'two=Running\n');
  const json = JSON.parse((await e.podrun('ps', '-o', 'json', '--selector', 'app in (db)')).stdout) as { kind: string; items: Array<{ kind: string; metadata: { name: string; labels: Record<string, string> }; spec: { containers: unknown[] } }> };
  t.equal(json.kind, 'List');
  t.same(json.items.map((i) => [i.kind, i.metadata.name, i.metadata.labels.app, i.spec.containers.length]), [['Pod', 'two', 'db', 1]]);
  t.match((await e.podrun('ps', '-o', 'wide')).stdout, /NAMESPACE\s+NETWORK\s+IMAGES[\s\S]*one .*default\s+-\s+localhost\/podrun\/busybox/);
  t.equal((await e.podrun('inspect', 'one', '-o', 'jsonpath={.metadata.name} {.status.phase} {.spec.containers[0].image}')).stdout, 'one Running localhost/podrun/busybox');
  t.match((await e.podrun('inspect', 'one', '-o', 'yaml')).stdout, /^apiVersion: v1\nkind: Pod\nmetadata:\n {2}name: one\n/);
  t.match((await e.podrun('ps', '-o', 'table')).stderr, /-o table: expected wide, json, yaml, name or jsonpath=TEMPLATE/);
  t.match((await e.podrun('ps', '-l', 'app=(x')).stderr, /--selector app=\(x: cannot read/);
});

t.test('logs --tail, --since, --limit-bytes', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('lg', `
apiVersion: v1
kind: Pod
metadata: { name: lg }
spec:
  restartPolicy: Never
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sh, -c, 'seq 1 5; sleep 2; echo late'] }]
`);
  t.equal((await e.podrun('start', '--wait', f)).code, 0);
  t.equal((await e.podrun('logs', 'lg', '--tail', '2')).stdout, '5\nlate\n');
  t.equal((await e.podrun('logs', 'lg', '--tail', '0')).stdout, '');
  t.equal((await e.podrun('logs', 'lg', '--tail=-1')).stdout, '1\n2\n3\n4\n5\nlate\n');
  t.equal((await e.podrun('logs', 'lg', '--limit-bytes', '5')).stdout, '1\n2\n3');
  // the lines before the sleep are two seconds older than the last
  const stamped = (await e.podrun('logs', 'lg', '--timestamps')).stdout.trim().split('\n');
  const lateAt = Date.parse(stamped[5].split(' ')[0]);
  const since = new Date(lateAt - 1000).toISOString();
  t.equal((await e.podrun('logs', 'lg', '--since-time', since)).stdout, 'late\n');
  t.equal((await e.podrun('logs', 'lg', '--since', '1h')).stdout, '1\n2\n3\n4\n5\nlate\n');
  t.match((await e.podrun('logs', 'lg', '--since', '5 minutes')).stderr, /--since 5 minutes: expected a duration/);
  t.match((await e.podrun('logs', 'lg', '--tail', 'x')).stderr, /--tail x: expected a whole number/);
});

t.test('a workingDir the image lacks is made (as kubelet and runc), read-only root or not', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('wd', `
apiVersion: v1
kind: Pod
metadata: { name: wd }
spec:
  restartPolicy: Never
  containers:
    - { name: a, image: localhost/podrun/busybox, workingDir: /made/for/me, command: [sh, -c, 'pwd; stat -c "%U %a" .'] }
    - { name: b, image: localhost/podrun/busybox, workingDir: /also/made, securityContext: { readOnlyRootFilesystem: true }, command: [pwd] }
`);
  const r = await e.podrun('start', '--wait', '--rm', f);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^a: \/made\/for\/me\na: root 755\n/m);
  t.match(r.stdout, /^b: \/also\/made$/m);
});

t.test('downwardAPI and projected volumes: the pod\'s metadata and resources as files, read-only, on tmpfs; tokens refused', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('dw', `
apiVersion: v1
kind: Pod
metadata: { name: dw, labels: { app: web, tier: front }, annotations: { note: "say \\"hi\\"" } }
spec:
  restartPolicy: Never
  volumes:
    - name: info
      downwardAPI:
        items:
          - { path: name, fieldRef: { fieldPath: metadata.name } }
          - { path: labels, fieldRef: { fieldPath: metadata.labels } }
          - { path: deep/note, fieldRef: { fieldPath: metadata.annotations } }
          - { path: mem, resourceFieldRef: { containerName: c, resource: limits.memory, divisor: 1Mi }, mode: 0400 }
    - name: all
      projected:
        defaultMode: 0440
        sources:
          - configMap: { name: cfg, items: [{ key: k, path: from-cm }] }
          - secret: { name: sec }
          - downwardAPI: { items: [{ path: app, fieldRef: { fieldPath: "metadata.labels['app']" } }] }
  containers:
    - name: c
      image: localhost/podrun/busybox
      resources: { limits: { memory: 32Mi } }
      volumeMounts: [{ name: info, mountPath: /info }, { name: all, mountPath: /all }]
      command: [sh, -c, 'cat /info/name; echo; cat /info/labels; echo; cat /info/deep/note; echo; cat /info/mem; echo; stat -c "%a" /info/mem /all/from-cm; cat /all/from-cm /all/password; echo; cat /all/app; echo; touch /info/x 2>&1 | grep -c Read-only; grep " /all " /proc/mounts | cut -d" " -f3']
---
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { k: from-configmap }
---
apiVersion: v1
kind: Secret
metadata: { name: sec }
stringData: { password: s3cret }
`);
  const r = await e.podrun('start', '--wait', '--rm', f);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.split('\n').filter((l) => l.startsWith('c: ')).map((l) => l.slice(3)), [
    'dw', 'app="web"', 'tier="front"', 'note="say \\"hi\\""', '32', '400', '440', 'from-configmaps3cret', 'web', '1', 'tmpfs',
  ], 'labels and annotations as kubelet formats them, modes, a configMap and a secret projected together, read-only, on tmpfs');
  const token = e.manifest('tok', `
apiVersion: v1
kind: Pod
metadata: { name: tok }
spec:
  volumes: [{ name: t, projected: { sources: [{ serviceAccountToken: { path: token } }] } }]
  containers: [{ name: c, image: localhost/podrun/busybox }]
`);
  t.match((await e.podrun('start', token)).stderr, /spec\.volumes\[0\]\.projected\.sources\[0\]\.serviceAccountToken: not supported by podrun/);
});

t.test('status as the API shows it (conditions, qosClass, hostIP, reason/message) and podrun wait as kubectl wait', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('cond', `
apiVersion: v1
kind: Pod
metadata: { name: cond }
spec:
  terminationGracePeriodSeconds: 0
  initContainers: [{ name: i, image: localhost/podrun/busybox, command: ['true'], resources: { limits: { cpu: 100m, memory: 16Mi } } }]
  containers:
    - name: c
      image: localhost/podrun/busybox
      resources: { limits: { cpu: 100m, memory: 16Mi } }
      command: [sh, -c, 'sleep 1; touch /tmp/ready; sleep 1000']
      readinessProbe: { exec: { command: [cat, /tmp/ready] }, periodSeconds: 1 }
`);
  // events --wait sees a pod that does not exist yet
  const events = e.podrun('events', '--wait', '--json', 'cond');
  const before = await e.podrun('wait', 'cond', '--for=condition=Ready', '--timeout=200ms');
  t.equal(before.code, 1);
  t.match(before.stderr, /timed out waiting for the condition on pods\/cond/);
  t.equal((await e.podrun('start', f)).code, 0);
  const ready = await e.podrun('wait', 'cond', '--for=condition=Ready', '--timeout=30s');
  t.equal(ready.code, 0, ready.stderr);
  t.equal(ready.stdout, 'pod/cond condition met\n');
  t.equal((await e.podrun('wait', 'cond', "--for=jsonpath={.status.phase}=Running", '--timeout', '5s')).code, 0);
  const st = JSON.parse((await e.podrun('inspect', 'cond', '-o', 'json')).stdout) as { status: { qosClass: string; hostIP: string; conditions: Array<{ type: string; status: string; lastTransitionTime: string }> } };
  t.equal(st.status.qosClass, 'Guaranteed', 'limits alone, on every container: requests default to them');
  t.equal(st.status.hostIP, '127.0.0.1');
  t.same(st.status.conditions.map((c) => `${c.type}=${c.status}`).sort(), ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True']);
  t.ok(st.status.conditions.every((c) => !Number.isNaN(Date.parse(c.lastTransitionTime))), 'each with its time');
  t.equal((await e.podrun('rm', '-f', 'cond')).code, 0);
  const gone = await e.podrun('wait', 'cond', '--for=delete', '--timeout=5s');
  t.equal(gone.stdout, 'pod/cond deleted\n');
  const seen = (await events).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  t.ok(seen.some((x) => x.type === 'ContainerReady'), 'events --wait saw the pod once it came');
  t.match((await e.podrun('wait', 'x', '--for=ready')).stderr, /--for ready: expected condition=NAME/);
});

t.test('workloads as podman kube play runs them: Deployment, StatefulSet pods named as their controllers name them; a Job to completion with backoffLimit', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('wl', `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  strategy: { type: RollingUpdate }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{ name: c, image: localhost/podrun/busybox, command: [sleep, "1000"] }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  replicas: 2
  serviceName: dbs
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{ name: c, image: localhost/podrun/busybox, command: [sh, -c, 'hostname; sleep 1000'] }]
`);
  const r = await e.podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /spec\.strategy: ignored/);
  const names = r.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
  t.match(names[0], /^web-[b-z2-9]{10}-[b-z2-9]{5}$/, 'Deployment: <name>-<template hash>-<suffix>');
  t.equal(names[0].split('-')[1], names[1].split('-')[1], 'one template, one hash');
  t.same(names.slice(2), ['db-0', 'db-1'], 'StatefulSet: ordinals');
  t.match((await e.podrun('logs', 'db-1')).stdout, /^db-1\n/, 'a StatefulSet pod\'s hostname is its name');
  t.equal((await e.podrun('ps', '-o', 'name', '-l', 'app=web,pod-template-hash')).stdout.split('\n').filter(Boolean).length, 2);

  const job = e.manifest('job', `
apiVersion: batch/v1
kind: Job
metadata: { name: flaky }
spec:
  completions: 2
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      volumes: [{ name: count, hostPath: { path: ${e.dataRoot}/job-count, type: DirectoryOrCreate } }]
      containers:
        - name: c
          image: localhost/podrun/busybox
          volumeMounts: [{ name: count, mountPath: /count }]
          # the first run fails, the next ones succeed
          command: [sh, -c, 'n=$(ls /count | wc -l); touch /count/run-$$RANDOM$$$$; test "$n" -gt 0']
`);
  const ran = await e.podrun('start', '--restart-backoff', '100', job);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, /^job\/flaky Complete: 2 succeeded, 1 failed \(flaky-[b-z2-9]{5} flaky-[b-z2-9]{5} flaky-[b-z2-9]{5}\)\n$/);
  const failing = e.manifest('fail', `
apiVersion: batch/v1
kind: Job
metadata: { name: never }
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: c, image: localhost/podrun/busybox, command: ['false'] }]
`);
  const gaveUp = await e.podrun('start', '--restart-backoff', '100', failing);
  t.equal(gaveUp.code, 1);
  t.match(gaveUp.stdout, /^job\/never Failed \(BackoffLimitExceeded\): 0 succeeded, 2 failed/);
  // errors name the workload's fields
  const bad = e.manifest('bad', `
apiVersion: apps/v1
kind: Deployment
metadata: { name: bad }
spec:
  selector: { matchLabels: { app: other } }
  template:
    metadata: { labels: { app: bad } }
    spec: { containers: [{ name: c, image: localhost/podrun/busybox, comand: [x] }] }
`);
  const refused = await e.podrun('start', bad);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /invalid Deployment:\n {2}spec\.selector\.matchLabels\.app: does not match spec\.template\.metadata\.labels/);
  const typo = await e.podrun('start', e.manifest('bad2', (await import('node:fs')).readFileSync(bad, 'utf8').replace('app: other', 'app: bad')));
  t.match(typo.stderr, /spec\.template\.spec\.containers\[0\]\.comand: unknown field/);
});

t.test('attach -i stays attached across a restart and ends when the container is done', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('reat', `
apiVersion: v1
kind: Pod
metadata: { name: reat }
spec:
  restartPolicy: OnFailure
  volumes: [{ name: flag, emptyDir: {} }]
  containers:
    # the first run fails (after a moment, so the attach is there), the restarted one succeeds
    - name: c
      image: localhost/podrun/busybox
      stdin: true
      volumeMounts: [{ name: flag, mountPath: /flag }]
      command: [sh, -c, 'sleep 1; if test -e /flag/ran; then echo second; else touch /flag/ran; echo first; exit 1; fi']
`);
  t.equal((await e.podrun('start', '--restart-backoff', '100', f)).code, 0);
  const r = await e.podrunFed('', 'attach', '-i', 'reat');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'first\nsecond\n', 'both runs\' output through one attach, which ends with the container');
  t.match((await e.podrun('inspect', 'reat', '-o', 'jsonpath={.status.phase} {.status.containerStatuses[0].restartCount}')).stdout, /^Succeeded 1$/);
});

t.test('library: execCapture returns what the command printed, feeds it stdin, kills it at its timeout', async (t) => {
  const e = await podEnv(t);
  const { execCapture } = await import('../../src/index');
  const f = e.manifest('lib', `
apiVersion: v1
kind: Pod
metadata: { name: lib }
spec:
  terminationGracePeriodSeconds: 0
  containers: [{ name: c, image: localhost/podrun/busybox, command: [sleep, "1000"] }]
`);
  t.equal((await e.podrun('start', f)).code, 0);
  const o = { root: e.runRoot, dataRoot: e.dataRoot };
  const r = await execCapture('lib', ['sh', '-c', 'cat; echo oops >&2; exit 3'], { ...o, stdin: 'fed\n' });
  t.same({ ...r, stdout: r.stdout.toString(), stderr: r.stderr.toString() }, { exitCode: 3, stdout: 'fed\n', stderr: 'oops\n', timedOut: false });
  t.equal((await execCapture('lib', ['cat'], o)).stdout.length, 0, 'no stdin given: /dev/null');
  const slow = await execCapture('lib', ['sleep', '30'], { ...o, timeoutMs: 300 });
  t.same([slow.timedOut, slow.exitCode], [true, 137]);
  await t.rejects(execCapture('nope', ['true'], o), { code: 'ENOTFOUND' });
});

t.test('volumeMounts: subPathExpr from the pod\'s name; mountPropagation HostToContainer sees a host mount made after the start, Bidirectional (privileged) gives the host the container\'s', async (t) => {
  const e = await podEnv(t);
  const { runCmd } = await import('../helpers');
  // a host directory that is a shared mount of its own (this VM's / is private; a node's, under systemd, is shared)
  const host = fs.mkdtempSync('/tmp/podrun-propagation-');
  const sh = async (...args: string[]) => t.equal((await runCmd(args[0], args.slice(1))).code, 0, args.join(' '));
  const mounted: string[] = [];
  t.teardown(async () => {
    for (const m of mounted.reverse()) await runCmd('umount', ['-l', m]);
    fs.rmSync(host, { recursive: true, force: true });
  });
  await sh('mount', '--bind', host, host);
  mounted.push(host);
  await sh('mount', '--make-shared', host);
  const f = e.manifest('prop', `
apiVersion: v1
kind: Pod
metadata: { name: prop }
spec:
  volumes:
    - { name: h, hostPath: { path: ${host} } }
    - { name: scratch, emptyDir: {} }
  containers:
    - name: h2c
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      env: [{ name: POD, valueFrom: { fieldRef: { fieldPath: metadata.name } } }]
      volumeMounts:
        - { name: h, mountPath: /h, mountPropagation: HostToContainer }
        - { name: scratch, mountPath: /logs, subPathExpr: 'by-pod/$(POD)' }
    - name: bi
      image: localhost/podrun/busybox
      command: [sleep, '3600']
      securityContext: { privileged: true }
      volumeMounts: [{ name: h, mountPath: /h, mountPropagation: Bidirectional }, { name: scratch, mountPath: /scratch }]
`);
  const r = await e.podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  const exec = (c: string, script: string) => e.podrun('exec', 'prop', '-c', c, '--', 'sh', '-c', script);
  t.equal((await exec('h2c', 'echo made > /logs/f')).code, 0);
  t.equal((await exec('bi', 'cat /scratch/by-pod/prop/f')).stdout, 'made\n', 'subPathExpr: by-pod/$(POD) inside the volume');
  // after the start: the host mounts a tmpfs below the volume, the HostToContainer container sees it
  fs.mkdirSync(`${host}/from-host`);
  await sh('mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', `${host}/from-host`);
  mounted.push(`${host}/from-host`);
  fs.writeFileSync(`${host}/from-host/hello`, 'host tmpfs\n');
  t.equal((await exec('h2c', 'cat /h/from-host/hello')).stdout, 'host tmpfs\n', 'HostToContainer: a host mount made after the start is seen');
  // the privileged Bidirectional container mounts below the volume: the host sees it
  t.equal((await exec('bi', 'mkdir -p /h/from-pod && mount -t tmpfs -o size=1m tmpfs /h/from-pod && echo pod tmpfs > /h/from-pod/hello')).code, 0);
  mounted.push(`${host}/from-pod`);
  t.equal(fs.readFileSync(`${host}/from-pod/hello`, 'utf8'), 'pod tmpfs\n', 'Bidirectional: the container\'s mount reached the host');
  t.equal((await exec('h2c', 'cat /h/from-pod/hello')).stdout, 'pod tmpfs\n', 'and the HostToContainer container through the host');
  t.equal((await e.podrun('rm', '-f', 'prop')).code, 0);
});

t.test('procMount Unmasked (hostUsers: false): /proc without the masked and read-only paths', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('procs', `
apiVersion: v1
kind: Pod
metadata: { name: procs }
spec:
  hostUsers: false
  containers:
    - { name: masked, image: localhost/podrun/busybox, command: [sleep, '3600'] }
    - { name: unmasked, image: localhost/podrun/busybox, command: [sleep, '3600'], securityContext: { procMount: Unmasked } }
`);
  const r = await e.podrun('start', f);
  t.equal(r.code, 0, r.stderr);
  const mounts = async (c: string) => (await e.podrun('exec', 'procs', '-c', c, '--', 'sh', '-c', "grep -c -e ' /proc/keys ' -e ' /proc/sys ' /proc/self/mountinfo; true")).stdout.trim();
  t.equal(await mounts('masked'), '2', 'Default: /proc/keys masked, /proc/sys read-only');
  t.equal(await mounts('unmasked'), '0', 'Unmasked: neither');
  t.equal((await e.podrun('rm', '-f', 'procs')).code, 0);
});

t.test('setHostnameAsFQDN: uname -n, /etc/hostname and $HOSTNAME are the FQDN; /etc/hosts keeps the short name too', async (t) => {
  const e = await podEnv(t);
  const f = e.manifest('fq', `
apiVersion: v1
kind: Pod
metadata: { name: fq, namespace: shop }
spec:
  restartPolicy: Never
  hostname: web
  subdomain: db
  setHostnameAsFQDN: true
  containers:
    - { name: c, image: localhost/podrun/busybox, command: [sh, -c, 'uname -n; cat /etc/hostname; echo $HOSTNAME; grep web /etc/hosts | cut -f2'] }
`);
  const r = await e.podrun('start', '--wait', '--rm', f);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^c: web\.db\.shop\.svc\.cluster\.local\nc: web\.db\.shop\.svc\.cluster\.local\nc: web\.db\.shop\.svc\.cluster\.local\nc: web\.db\.shop\.svc\.cluster\.local web\n/);
});
