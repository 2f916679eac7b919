/** Pod manifests as kubelet runs them (issue "kubectl parity"), checked inside
 * the containers, as root. */
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
