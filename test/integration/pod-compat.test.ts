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
