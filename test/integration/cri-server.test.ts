/** `podrun cri` driven over its socket by a gRPC client (@grpc/grpc-js with
 * podrun's proto), as root: the real server process, in a network namespace
 * of the test's own with a CNI bridge. Sandboxes and containers are podrun
 * pods (seen by `podrun ps`), survive a kill -9 of the server, and bad or
 * hostile requests are refused naming the field with nothing left behind. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type * as grpcTypes from '@grpc/grpc-js';
import { fixtures, runCmd, snapshotHost, tempDir, waitFor } from '../helpers';
import { BUSYBOX, containerConfig, criEnv, grpc, grpcCode, sandboxConfig } from '../support/cri-env';
import { startRegistry } from '../support/registry';
import { loadCriProto } from '../../src/cri/server';

t.test('version, status and runtime config', async (t) => {
  const e = await criEnv(t);
  const v = await e.call('Version', { version: 'v1' });
  t.match(v, { runtime_name: 'podrun', runtime_api_version: 'v1' });
  const s = await e.call('Status', {});
  t.same(s.status.conditions.map((c: { type: string; status: boolean }) => [c.type, c.status]), [['RuntimeReady', true], ['NetworkReady', true]]);
  t.equal((await e.call('RuntimeConfig', {})).linux.cgroup_driver, 'CGROUPFS');
  const imgs = await e.call('ListImages', {});
  t.ok(imgs.images.some((i: { repo_tags: string[] }) => i.repo_tags.includes(BUSYBOX)), 'the loaded image is listed');
  t.equal((await e.call('ImageStatus', { image: { image: 'localhost/none:1' } })).image, null, 'a missing image is no image, not an error');
  t.ok(Number((await e.call('ImageFsInfo', {})).image_filesystems[0].used_bytes.value) > 0);
});

t.test('a sandbox and its containers: network, logs, exec, stop, remove — and podrun ps sees them', async (t) => {
  const e = await criEnv(t);
  const before = await snapshotHost();
  const hostDir = await tempDir(t, 'podrun-vol-');
  fs.writeFileSync(path.join(hostDir, 'greeting'), 'hi from the host\n');
  const cfg = sandboxConfig('web', e.logDir, { labels: { app: 'web' }, annotations: { note: 'a' } });
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: cfg });
  t.match(pod, /^[0-9a-f]{12}$/);
  const st = await e.call('PodSandboxStatus', { pod_sandbox_id: pod });
  t.equal(st.status.state, 'SANDBOX_READY');
  t.match(st.status.network.ip, /^10\.124\.0\.\d+$/, 'CNI gave the sandbox an address');
  t.same(st.status.labels, { app: 'web' });

  const { container_id: id } = await e.call('CreateContainer', {
    pod_sandbox_id: pod, sandbox_config: cfg,
    // pid 1 of its PID namespace: without a handler SIGTERM would not end it
    config: containerConfig('app', ['sh', '-c', 'trap "exit 143" TERM; cat /data/greeting; echo to-stderr >&2; echo "$GREETING"; sleep 1000 & wait'], {
      envs: [{ key: 'GREETING', value: 'env works' }],
      mounts: [{ container_path: '/data', host_path: hostDir, readonly: true }],
      labels: { role: 'app' },
    }),
  });
  t.equal((await e.call('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_CREATED');
  await e.call('StartContainer', { container_id: id });
  const log = path.join(e.logDir, 'app.log');
  await waitFor(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('env works'), 'the container log');
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  // stdout and stderr are two pipes: their order against each other is not the container's
  t.match(lines.filter((l) => l.includes(' stdout ')), [/^\S+Z stdout F hi from the host$/, /^\S+Z stdout F env works$/], 'CRI log format at the path kubelet gave');
  t.match(lines.filter((l) => l.includes(' stderr ')), [/^\S+Z stderr F to-stderr$/]);

  const x = await e.call('ExecSync', { container_id: id, cmd: ['sh', '-c', 'echo out; echo err >&2; hostname; exit 3'], timeout: 10 });
  t.equal(x.stdout.toString(), 'out\nweb\n');
  t.equal(x.stderr.toString(), 'err\n');
  t.equal(x.exit_code, 3);
  const slow = await e.call('ExecSync', { container_id: id, cmd: ['sh', '-c', 'exec sleep 30'], timeout: 1 }).then(() => 0, grpcCode);
  t.equal(slow, grpc.status.DEADLINE_EXCEEDED, 'a command past its timeout is an error');
  const sleeps = (await e.call('ExecSync', { container_id: id, cmd: ['sh', '-c', 'ps -o args | grep -c "^sleep 30" || true'], timeout: 10 })).stdout.toString().trim();
  t.equal(sleeps, '0', 'and it was killed');

  const ps = JSON.parse((await e.podrun('ps', '--json')).stdout) as Array<{ id: string; name: string; status: { containerStatuses: unknown[] } }>;
  t.match(ps, [{ id: pod, name: 'web' }], 'the sandbox is a podrun pod');
  t.equal(ps[0].status.containerStatuses.length, 1);

  t.same((await e.call('ListContainers', { filter: { label_selector: { role: 'app' } } })).containers.map((c: { id: string }) => c.id), [id]);
  t.same((await e.call('ListContainers', { filter: { label_selector: { role: 'other' } } })).containers, []);
  t.same((await e.call('ListPodSandbox', { filter: { label_selector: { app: 'web' } } })).items.map((p: { id: string }) => p.id), [pod]);

  // a name and attempt are reserved per sandbox
  const dup = await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('app', ['true']) }).then(() => 0, grpcCode);
  t.equal(dup, grpc.status.ALREADY_EXISTS);

  await e.call('StopContainer', { container_id: id, timeout: 5 });
  const stopped = (await e.call('ContainerStatus', { container_id: id })).status;
  t.match(stopped, { state: 'CONTAINER_EXITED', exit_code: 143, reason: 'Error' }, 'SIGTERM ended it, before the timeout');
  t.ok(BigInt(stopped.finished_at) >= BigInt(stopped.started_at));

  await e.call('RemoveContainer', { container_id: id });
  t.same((await e.call('ListContainers', {})).containers, []);
  await e.call('StopPodSandbox', { pod_sandbox_id: pod });
  t.equal((await e.call('PodSandboxStatus', { pod_sandbox_id: pod })).status.state, 'SANDBOX_NOTREADY');
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
  t.same((await e.call('ListPodSandbox', {})).items, []);
  // kubelet retries: stop and remove of what is gone succeed
  await e.call('StopPodSandbox', { pod_sandbox_id: pod });
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
  await e.call('StopContainer', { container_id: id, timeout: 0 });
  await e.call('RemoveContainer', { container_id: id });
  t.same(await snapshotHost(), before, 'no mounts, cgroups or processes left');
});

t.test('cgroup_parent: each sandbox a pod cgroup of its own below it, pruned with the last one', async (t) => {
  const e = await criEnv(t);
  const parent = `crit-${Math.random().toString(16).slice(2, 8)}`;
  const dir = `/sys/fs/cgroup/unified/${parent}`;
  const pods: string[] = [];
  for (const n of ['a', 'b']) {
    const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: sandboxConfig(`cg-${n}`, e.logDir, { linux: { cgroup_parent: `/${parent}` } }) });
    const { container_id: id } = await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('same-name', ['sleep', '1000']) });
    await e.call('StartContainer', { container_id: id });
    const pid = JSON.parse((await e.call('ContainerStatus', { container_id: id, verbose: true })).info.info).pid as number;
    t.equal(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::')), `0::/${parent}/pod-${pod}/ctr-same-name_0`);
    pods.push(pod);
  }
  t.same(fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort(), pods.map((p) => `pod-${p}`).sort());
  await e.call('RemovePodSandbox', { pod_sandbox_id: pods[0] });
  t.ok(fs.existsSync(dir), 'kept while another pod is in it');
  await e.call('RemovePodSandbox', { pod_sandbox_id: pods[1] });
  t.notOk(fs.existsSync(dir), 'podrun made it, so the last pod out removed it');
});

t.test('PullImage through a hosts.toml mirror with the request\'s credentials; RemoveImage removes every name', async (t) => {
  const fx = await fixtures();
  const reg = await startRegistry(t, await tempDir(t, 'podrun-registry-'), 'basic');
  await reg.push(fx.images['busybox-gzip'], 'private/busybox:1');
  const certs = await tempDir(t, 'podrun-certs-');
  fs.mkdirSync(path.join(certs, 'upstream.test'));
  // the upstream does not exist: only the mirror can serve the image
  fs.writeFileSync(path.join(certs, 'upstream.test', 'hosts.toml'), `server = "https://upstream.test"\n[host."http://${reg.host}"]\n  capabilities = ["pull", "resolve"]\n`);
  const e = await criEnv(t, { ownNetns: false, registries: `registries: { configPath: ${certs} }\n` });
  const image = { image: 'upstream.test/private/busybox:1' };
  const denied = await e.call('PullImage', { image }).then(() => '', (err: grpcTypes.ServiceError) => err.details);
  t.match(denied, /requires a login/, 'no credentials: the registry\'s refusal');
  const { image_ref: ref } = await e.call('PullImage', { image, auth: { username: reg.user, password: reg.password } });
  t.match(ref, /^sha256:[0-9a-f]{64}$/);
  const st = await e.call('ImageStatus', { image });
  t.equal(st.image.id, ref);
  // (the fixture image env() loaded is the same image: it has that name too)
  t.ok(st.image.repo_tags.includes('upstream.test/private/busybox:1'), 'recorded under the name asked');
  t.notOk(st.image.repo_tags.some((n: string) => n.includes(reg.host)), 'not under the mirror\'s');
  const byDigest = st.image.repo_digests.find((d: string) => d.startsWith('upstream.test/private/busybox@sha256:'));
  t.equal((await e.call('ImageStatus', { image: { image: byDigest } })).image.id, ref, 'found by repo@digest');
  await e.call('RemoveImage', { image: { image: ref } });
  t.equal((await e.call('ImageStatus', { image })).image, null);
  await e.call('RemoveImage', { image }); // gone already: not an error
});

t.test('concurrent calls: sandboxes and containers made at once, one name reserved once', async (t) => {
  const e = await criEnv(t);
  const before = await snapshotHost();
  const names = ['c1', 'c2', 'c3', 'c3'];
  const made = await Promise.allSettled(names.map((n) => e.call('RunPodSandbox', { config: sandboxConfig(n, e.logDir) })));
  const ok = made.filter((r): r is PromiseFulfilledResult<Record<string, string>> => r.status === 'fulfilled').map((r) => r.value.pod_sandbox_id);
  t.equal(ok.length, 3, 'three sandboxes');
  t.same(made.filter((r) => r.status === 'rejected').map((r) => grpcCode((r as PromiseRejectedResult).reason)), [grpc.status.ALREADY_EXISTS], 'the same name twice: one refused');
  const pod = ok[0];
  const ids = await Promise.all(['x', 'y', 'z'].map(async (n) => (await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig(n, ['sleep', '1000']) })).container_id as string));
  await Promise.all(ids.map((id) => e.call('StartContainer', { container_id: id })));
  const listed = (await e.call('ListContainers', { filter: { pod_sandbox_id: pod, state: { state: 'CONTAINER_RUNNING' } } })).containers.map((c: { id: string }) => c.id);
  t.same(listed.sort(), [...ids].sort(), 'all three recorded and running');
  await Promise.all([...ok.map((p) => e.call('RemovePodSandbox', { pod_sandbox_id: p })), ...ids.map((id) => e.call('RemoveContainer', { container_id: id }))]);
  t.same((await e.call('ListPodSandbox', {})).items, []);
  t.same(await snapshotHost(), before, 'nothing left');
});

t.test('kill -9 of the server loses nothing: sandbox and container are found again with their status', async (t) => {
  const e = await criEnv(t);
  const cfg = sandboxConfig('keep', e.logDir);
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: cfg });
  const { container_id: id } = await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('k', ['sleep', '1000']) });
  await e.call('StartContainer', { container_id: id });
  const { container_id: done } = await e.call('CreateContainer', { pod_sandbox_id: pod, config: containerConfig('d', ['sh', '-c', 'exit 7']) });
  await e.call('StartContainer', { container_id: done });
  await e.kill('SIGKILL');
  await e.start();
  t.equal((await e.call('PodSandboxStatus', { pod_sandbox_id: pod })).status.state, 'SANDBOX_READY');
  t.equal((await e.call('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_RUNNING');
  await waitFor(async () => (await e.call('ContainerStatus', { container_id: done })).status.state === 'CONTAINER_EXITED', 'the other container to exit');
  t.equal((await e.call('ContainerStatus', { container_id: done })).status.exit_code, 7);
  t.equal((await e.call('ExecSync', { container_id: id, cmd: ['echo', 'still here'], timeout: 5 })).stdout.toString(), 'still here\n');
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
});

t.test('bad and hostile requests: INVALID_ARGUMENT naming the field, nothing half-made', async (t) => {
  const e = await criEnv(t);
  const before = await snapshotHost();
  const code = (p: Promise<unknown>): Promise<[number, string]> => p.then(() => [0, ''], (err: grpcTypes.ServiceError) => [err.code, err.details]);
  const INVALID = grpc.status.INVALID_ARGUMENT;
  t.match(await code(e.call('RunPodSandbox', { config: { hostname: 'x' } })), [INVALID, /^config\.metadata: required/]);
  t.match(await code(e.call('RunPodSandbox', { config: sandboxConfig('esc', e.logDir, { linux: { cgroup_parent: '/../../sys' } }) })), [INVALID, /^config\.linux\.cgroup_parent: /], 'a cgroup_parent above the root');
  t.match(await code(e.call('RunPodSandbox', { config: sandboxConfig('u', e.logDir), runtime_handler: 'kata' })), [INVALID, /^runtime_handler: /]);
  t.match(await code(e.call('PodSandboxStatus', { pod_sandbox_id: '' })), [INVALID, /^pod_sandbox_id: required/], 'an empty id is no prefix of every sandbox');
  t.same((await e.call('ListPodSandbox', {})).items, [], 'no sandbox was made');

  const cfg = sandboxConfig('bad', e.logDir);
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: cfg });
  const create = (config: object) => code(e.call('CreateContainer', { pod_sandbox_id: pod, config }));
  t.match(await create(containerConfig('m', ['true'], { mounts: [{ container_path: 'relative', host_path: '/tmp' }] })), [INVALID, /^config\.mounts\[0\]\.container_path: /]);
  t.match(await create(containerConfig('l', ['true'], { log_path: '../../../etc/evil.log' })), [INVALID, /^config\.log_path: /], 'a log outside the sandbox log directory');
  t.match(await create(containerConfig('p', ['true'], { linux: { security_context: { privileged: true } } })), [INVALID, /privileged sandbox/], 'privileged needs a privileged sandbox');
  t.match(await create(containerConfig('c', ['true'], { linux: { security_context: { capabilities: { add_capabilities: ['NOT_A_CAP'] } } } })), [INVALID, /^config\.linux\.security_context\.capabilities\.add_capabilities\[0\]: /]);
  t.match(await create(containerConfig('d', ['true'], { devices: [{ container_path: '/dev/x', host_path: '/etc/passwd', permissions: 'rw' }] })), [INVALID, /^config\.devices\[0\]\.host_path: /], 'a device that is a regular file');
  t.match(await create({ metadata: { name: 'n' }, image: { image: 'localhost/missing:1' } }), [grpc.status.NOT_FOUND, /image/]);
  t.same((await e.call('ListContainers', {})).containers, [], 'no container half-made');
  const rec = JSON.parse(fs.readFileSync(path.join(e.runRoot, 'pods', pod, 'pod.json'), 'utf8')) as { containers: unknown[] };
  t.same(rec.containers, [], 'nor in the pod record');
  const layers = path.join(e.dataRoot, 'pods', pod, 'containers');
  t.same(fs.existsSync(layers) ? fs.readdirSync(layers) : [], [], 'nor a writable layer');
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
  t.same(await snapshotHost(), before);
});

t.test('a second server on a socket that is served is refused', async (t) => {
  const e = await criEnv(t);
  const r = await e.podrun('cri', '--listen', `unix://${e.socket}`);
  t.equal(r.code, 1);
  t.match(r.stderr, /another server is listening there/);
  t.equal((await e.call('Version', {})).runtime_name, 'podrun', 'the first one still serves');
});

t.test('runtime.v1alpha2 (kubelet before 1.23) served by the same implementation: its calls see what v1 calls made', async (t) => {
  const e = await criEnv(t);
  const pkg = loadCriProto() as unknown as { runtime: { v1alpha2: Record<string, grpcTypes.ServiceClientConstructor> } };
  const old = new pkg.runtime.v1alpha2.RuntimeService(`unix://${e.socket}`, grpc.credentials.createInsecure());
  const oldImages = new pkg.runtime.v1alpha2.ImageService(`unix://${e.socket}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    old.close();
    oldImages.close();
  });
  const call = (client: grpcTypes.Client, method: string, req: object): Promise<Record<string, any>> => // eslint-disable-line @typescript-eslint/no-explicit-any
    new Promise((resolve, reject) => (client as unknown as Record<string, (r: object, cb: (err: Error | null, v: Record<string, unknown>) => void) => void>)[method].call(client, req, (err, v) => (err ? reject(err) : resolve(v))));
  t.match(await call(old, 'Version', {}), { runtime_name: 'podrun', runtime_api_version: 'v1alpha2' });
  t.equal((await e.call('Version', {})).runtime_api_version, 'v1', 'v1 calls still say v1');
  t.ok((await call(oldImages, 'ListImages', {})).images.some((i: { repo_tags: string[] }) => i.repo_tags.includes(BUSYBOX)), 'images through v1alpha2');
  const cfg = sandboxConfig('old', e.logDir);
  const { pod_sandbox_id: pod } = await call(old, 'RunPodSandbox', { config: cfg });
  const { container_id: id } = await call(old, 'CreateContainer', { pod_sandbox_id: pod, sandbox_config: cfg, config: containerConfig('c', ['sleep', '1000']) });
  await call(old, 'StartContainer', { container_id: id });
  t.equal((await e.call('ContainerStatus', { container_id: id })).status.state, 'CONTAINER_RUNNING', 'seen over v1');
  const sync = await call(old, 'ExecSync', { container_id: id, cmd: ['echo', 'via-v1alpha2'], timeout: 5 });
  t.equal(Buffer.from(sync.stdout).toString(), 'via-v1alpha2\n');
  await call(old, 'StopPodSandbox', { pod_sandbox_id: pod });
  await call(old, 'RemovePodSandbox', { pod_sandbox_id: pod });
  t.same((await e.call('ListPodSandbox', {})).items, [], 'gone for v1 too');
});

t.test('clients that send the socket path as :authority (kubelet 1.20–1.25, old crictl) are served: Node\'s HTTP/2 alone resets them', async (t) => {
  const e = await criEnv(t);
  const pkg = loadCriProto() as unknown as { runtime: { v1alpha2: Record<string, grpcTypes.ServiceClientConstructor> } };
  const version = (socket: string): Promise<Record<string, unknown>> => {
    // what grpc-go 1.27 (kubelet 1.20) sends for unix:///path: the path itself
    const c = new pkg.runtime.v1alpha2.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': socket });
    return new Promise((resolve, reject) => (c as unknown as { Version: (r: object, cb: (err: Error | null, v: Record<string, unknown>) => void) => void })
      .Version({}, (err, v) => { c.close(); return err ? reject(err) : resolve(v); }));
  };
  t.match(await version(e.socket), { runtime_api_version: 'v1alpha2' }, 'through podrun\'s socket');
  const backend = path.join(path.dirname(e.socket), `.${path.basename(e.socket)}.grpc`);
  await t.rejects(version(backend), /RST_STREAM with code 1|PROTOCOL_ERROR/, 'the gRPC server\'s own socket refuses it: the front is what serves such clients');
  t.equal((fs.statSync(backend).mode & 0o777).toString(8), '600', 'the inner socket is root\'s alone');
});

t.test('user namespaces: advertised; a POD mapping is the sandbox\'s and its containers\'; other modes refused', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const status = await e.call('Status', { verbose: false });
  t.same(status.runtime_handlers.map((h: { features: { user_namespaces: boolean } }) => h.features.user_namespaces), [true], 'user_namespaces advertised');
  const mapping = [{ container_id: 0, host_id: 0x90000000, length: 65536 }];
  const nso = { network: 'POD', pid: 'POD', ipc: 'POD', target_id: '', userns_options: { mode: 'POD', uids: mapping, gids: mapping } };
  const cfg = sandboxConfig('uns', e.logDir, { linux: { security_context: { namespace_options: nso } } });
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: cfg });
  const vol = await tempDir(t, 'podrun-idmap-');
  fs.writeFileSync(path.join(vol, 'f'), 'x');
  const idmapped = { container_path: '/data', host_path: vol, uidMappings: mapping, gidMappings: mapping };
  const { container_id: id } = await e.call('CreateContainer', {
    pod_sandbox_id: pod, sandbox_config: cfg,
    config: containerConfig('maps', ['sh', '-c', 'cat /proc/self/uid_map; id -u; touch /made && stat -c %u /made; stat -c %u /data/f'], { linux: { security_context: { namespace_options: nso } }, mounts: [idmapped] }),
  });
  await e.call('StartContainer', { container_id: id });
  const log = path.join(e.logDir, 'maps.log');
  await waitFor(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').trim().split('\n').length >= 4, 'the container to print', 10_000);
  const out = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.replace(/^\S+ stdout F /, ''));
  t.match(out[0], new RegExp(`^\\s+0\\s+${0x90000000}\\s+65536$`), 'critest\'s check: the mapping asked for');
  t.same(out.slice(1), ['0', '0', '0'], 'root inside, owning what it makes in its root; the idmapped volume\'s root-owned file is its root\'s');
  const otherMap = { ...idmapped, uidMappings: [{ container_id: 0, host_id: 0x90000000 + 65536, length: 65536 }] };
  const refused = await e.call('CreateContainer', { pod_sandbox_id: pod, sandbox_config: cfg, config: containerConfig('othermap', ['true'], { linux: { security_context: { namespace_options: nso } }, mounts: [otherMap] }) }).catch((err: unknown) => err);
  t.equal(grpcCode(refused), grpc.status.INVALID_ARGUMENT);
  t.match(String((refused as Error).message), /config\.mounts\[0\]\.uidMappings: must be the sandbox's mapping/);
  const wrong = { ...nso, userns_options: { mode: 'NODE', uids: [], gids: [] } };
  const bad = await e.call('CreateContainer', { pod_sandbox_id: pod, sandbox_config: cfg, config: containerConfig('node', ['true'], { linux: { security_context: { namespace_options: wrong } } }) }).catch((err: unknown) => err);
  t.equal(grpcCode(bad), grpc.status.INVALID_ARGUMENT);
  t.match(String((bad as Error).message), /namespace_options\.userns_options\.mode: NODE: the sandbox's user namespace is POD/);
  await e.call('StopPodSandbox', { pod_sandbox_id: pod });
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
  for (const [mode, uids, field] of [['CONTAINER', [], 'mode'], ['POD', [{ container_id: 1, host_id: 0x90000000, length: 65536 }], 'uids[0].container_id']] as const) {
    const r = await e.call('RunPodSandbox', { config: sandboxConfig(`bad-${mode}`, e.logDir, { linux: { security_context: { namespace_options: { ...nso, userns_options: { mode, uids, gids: uids } } } } }) }).catch((err: unknown) => err);
    t.equal(grpcCode(r), grpc.status.INVALID_ARGUMENT, mode);
    t.match(String((r as Error).message), new RegExp(`userns_options\\.${field.replace(/[[\].]/g, '\\$&')}`));
  }
  t.same((await e.call('ListPodSandbox', {})).items, [], 'nothing half-made');
});

t.test('recursive read-only mounts: advertised; a submount of the volume is read-only in the container; refused as critest expects', async (t) => {
  const e = await criEnv(t, { ownNetns: false });
  const status = await e.call('Status', { verbose: false });
  t.same(status.runtime_handlers.map((h: { features: { recursive_read_only_mounts: boolean } }) => h.features.recursive_read_only_mounts), [true], 'recursive_read_only_mounts advertised');
  // critest's volume: a directory with a tmpfs mounted below it
  const vol = await tempDir(t, 'podrun-rro-');
  fs.mkdirSync(path.join(vol, 'tmpfs'));
  t.equal((await runCmd('mount', ['-t', 'tmpfs', 'none', path.join(vol, 'tmpfs')])).code, 0);
  t.teardown(async () => void (await runCmd('umount', ['-l', path.join(vol, 'tmpfs')])));
  const cfg = sandboxConfig('rro', e.logDir);
  const { pod_sandbox_id: pod } = await e.call('RunPodSandbox', { config: cfg });
  const mount = (over: object) => ({ container_path: '/mnt', host_path: vol, readonly: true, recursive_read_only: true, selinux_relabel: true, ...over });
  const made: string[] = [];
  for (const [name, m] of [['rro', mount({})], ['ro', mount({ recursive_read_only: false })]] as const) {
    const { container_id: id } = await e.call('CreateContainer', { pod_sandbox_id: pod, sandbox_config: cfg, config: containerConfig(name, ['sleep', '3600'], { mounts: [m] }) });
    await e.call('StartContainer', { container_id: id });
    made.push(id);
  }
  const touch = async (id: string, f: string) => (await e.call('ExecSync', { container_id: id, cmd: ['sh', '-c', `touch /mnt/tmpfs/${f} 2>&1; echo rc=$?`], timeout: 10 })).stdout.toString();
  t.match(await touch(made[0], 'a'), /Read-only file system\nrc=1/, 'recursive: the tmpfs below is read-only too');
  t.match(await touch(made[1], 'b'), /^rc=0$/m, 'not recursive: the tmpfs below stays writable');
  for (const [over, why] of [[{ readonly: false }, /needs readonly/], [{ propagation: 'PROPAGATION_HOST_TO_CONTAINER' }, /PROPAGATION_PRIVATE/], [{ propagation: 'PROPAGATION_BIDIRECTIONAL' }, /PROPAGATION_PRIVATE/]] as const) {
    const r = await e.call('CreateContainer', { pod_sandbox_id: pod, sandbox_config: cfg, config: containerConfig('bad', ['true'], { mounts: [mount(over)] }) }).catch((err: unknown) => err);
    t.equal(grpcCode(r), grpc.status.INVALID_ARGUMENT);
    t.match(String((r as Error).message), /config\.mounts\[0\]\.recursive_read_only: /);
    t.match(String((r as Error).message), why);
  }
  t.equal((await e.call('ListContainers', {})).containers.length, 2, 'nothing half-made');
  await e.call('StopPodSandbox', { pod_sandbox_id: pod });
  await e.call('RemovePodSandbox', { pod_sandbox_id: pod });
});
