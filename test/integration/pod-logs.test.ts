/** Container logs rotated by podrun-monitor as kubelet rotates them
 * (containerLogMaxSize / containerLogMaxFiles): run boundaries survive
 * rotation, `logs --previous` still finds the run before, and the settings
 * are checked before anything is made. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { podEnv, waitFor } from '../helpers';

t.test('a restarted container\'s runs are found across rotated files; --previous is the run before', async (t) => {
  const { podrun, manifest, runRoot } = await podEnv(t);
  // each run writes ~55 KB (two 40Ki files' worth over the pair of runs), the second one then stays
  const pod = `
apiVersion: v1
kind: Pod
metadata: { name: runs }
spec:
  restartPolicy: OnFailure
  volumes: [{ name: v, emptyDir: {} }]
  containers:
    - name: c
      image: localhost/podrun/busybox
      volumeMounts: [{ name: v, mountPath: /v }]
      command: [sh, -c, 'n=$(($(cat /v/n 2>/dev/null || echo 0) + 1)); echo $n > /v/n; awk -v n=$n "BEGIN { for (i = 1; i <= 1000; i++) print \\"run \\" n \\" line \\" i }"; [ $n -ge 2 ] && exec sleep 3600; exit 1']
`;
  const r = await podrun('start', '--restart-backoff', '50', '--container-log-max-size', '40Ki', '--container-log-max-files', '3', manifest('runs', pod));
  t.equal(r.code, 0, r.stderr);
  const id = r.stdout.split(' ')[1];
  const logs = path.join(runRoot, 'pods', id, 'logs');
  const wanted = (run: number) => Array.from({ length: 1000 }, (_, i) => `run ${run} line ${i + 1}\n`).join('');
  await waitFor(async () => (await podrun('logs', 'runs')).stdout === wanted(2), 'the second run\'s 1000 lines', 20_000);
  const files = fs.readdirSync(logs).sort();
  t.ok(files.length >= 3 && files.length <= 3, `rotated, 3 files kept: ${files.join(' ')}`);
  t.ok(files.every((f) => f === 'c.log' || /^c\.log\.\d+$/.test(f)), 'LOG.<offset> names');
  t.ok(files.every((f) => fs.statSync(path.join(logs, f)).size <= 40 * 1024), 'each file within 40Ki');
  const previous = await podrun('logs', '--previous', 'runs');
  t.equal(previous.code, 0, previous.stderr);
  t.equal(previous.stdout, wanted(1), 'the previous run, whole, though it spans rotated files');
  const stamped = (await podrun('logs', '--timestamps', 'runs')).stdout.split('\n').filter(Boolean);
  t.equal(stamped.length, 1000);
  t.match(stamped[999], /^\d{4}-\d\d-\d\dT[\d:.]+Z run 2 line 1000$/);
});

t.test('rotation settings are checked before anything is made, naming the flag', async (t) => {
  const { podrun, manifest, runRoot } = await podEnv(t);
  const file = manifest('p', `
apiVersion: v1
kind: Pod
metadata: { name: p }
spec: { containers: [{ name: c, image: localhost/podrun/busybox, command: [sleep, '60'] }] }
`);
  for (const [args, want] of [
    [['--container-log-max-size', '1Ki'], /--container-log-max-size: 1024 bytes is below the smallest rotation size, 33024/],
    [['--container-log-max-size', 'lots'], /--container-log-max-size: "lots" is not a Kubernetes quantity/],
    [['--container-log-max-files', '1'], /--container-log-max-files: must be at least 2/],
    [['--container-log-max-files', 'x'], /--container-log-max-files x: expected a whole number/],
  ] as const) {
    const r = await podrun('start', ...args, file);
    t.equal(r.code, 1, args.join(' '));
    t.match(r.stderr, want);
  }
  const pods = path.join(runRoot, 'pods');
  t.same(fs.existsSync(pods) ? fs.readdirSync(pods) : [], [], 'no pod made');
});
