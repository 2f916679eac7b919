/** The pure halves of the isolation defences (issue "Isolation holds"):
 * the API server's checks of fields that become files, subPath as a bind
 * resolved beneath its volume, container ids, launch errors in Pod terms. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PodrunError } from '../../src/errors';
import { isValidContainerId } from '../../src/oci/container-id';
import { planMount } from '../../src/oci/build-plan';
import { encodePlan } from '../../src/oci/plan-encode';
import { parseMountOptions } from '../../src/oci/mount-options';
import { inPodTerms } from '../../src/pod/launch-field';
import { parsePodManifest } from '../../src/pod/manifest';
import type { OciConfig } from '../../src/oci/spec-schema';

const pod = (spec: string, meta = '') => `
apiVersion: v1
kind: Pod
metadata: { name: p${meta} }
spec:
  containers:
    - name: c
      image: busybox
${spec}`;
const errorsOf = (yaml: string): string[] => {
  try {
    parsePodManifest(yaml, 'p.yaml');
    return [];
  } catch (e) {
    return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
};

t.test('hostAliases and dnsConfig: a newline (or anything but an address or a name) is refused, so nothing is injected into /etc/hosts or resolv.conf', async (t) => {
  t.same(errorsOf(pod(`  hostAliases: [{ ip: "10.0.0.1\\n6.6.6.6 evil", hostnames: ["ok.example", "bad\\nname", "UPPER"] }, { ip: "::1", hostnames: [a.b] }]`)), [
    'spec.hostAliases[0].ip: "10.0.0.1\\n6.6.6.6 evil" must be a valid IP address',
    'spec.hostAliases[0].hostnames[1]: "bad\\nname" must be a lower-case RFC 1123 subdomain (a-z, 0-9, "-" and "." between labels, at most 253 characters)',
    'spec.hostAliases[0].hostnames[2]: "UPPER" must be a lower-case RFC 1123 subdomain (a-z, 0-9, "-" and "." between labels, at most 253 characters)',
  ]);
  t.same(errorsOf(pod(`  dnsPolicy: None
  dnsConfig:
    nameservers: ["1.1.1.1", "8.8.8.8\\nnameserver 6.6.6.6"]
    searches: [svc.cluster.local, "x\\nnameserver 6.6.6.6", "Example.COM."]
    options: [{ name: ndots, value: "5" }, { name: "a b" }, { name: edns0, value: "1\\n" }, { name: "" }]`)), [
    'spec.dnsConfig.nameservers[1]: "8.8.8.8\\nnameserver 6.6.6.6" must be a valid IP address',
    'spec.dnsConfig.searches[1]: "x\\nnameserver 6.6.6.6" must be a valid DNS search domain',
    'spec.dnsConfig.options[1].name: "a b" must not contain white space or control characters',
    'spec.dnsConfig.options[2].value: "1\\n" must not contain white space or control characters',
    'spec.dnsConfig.options[3].name: required',
  ]);
  t.match(errorsOf(pod(`  dnsConfig: { nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4] }`)), ['spec.dnsConfig.nameservers: must not have more than 3 nameservers, got 4']);
});

t.test('env names, hostPath types, mount paths, annotation size, ConfigMap keys', async (t) => {
  t.same(errorsOf(pod(`      env: [{ name: "A=B", value: "x" }, { name: "1X", value: "y" }, { name: ok.name-1, value: "z" }]`)), [
    'spec.containers[0].env[0].name: "A=B" must consist of letters, digits, "_", "-" or ".", and must not start with a digit',
    'spec.containers[0].env[1].name: "1X" must consist of letters, digits, "_", "-" or ".", and must not start with a digit',
  ]);
  t.same(errorsOf(pod(`      volumeMounts: [{ name: v, mountPath: /a }, { name: v, mountPath: "/a/" }, { name: v, mountPath: "/b\\n" }]
  volumes: [{ name: v, hostPath: { path: /tmp, type: Dir } }]`)), [
    'spec.volumes[0].hostPath.type: "Dir" is not one of DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice or ""',
    'spec.containers[0].volumeMounts[1].mountPath: "/a/" must be unique (also spec.containers[0].volumeMounts[0].mountPath)',
    'spec.containers[0].volumeMounts[2].mountPath: "/b\\n" must not contain control characters',
  ]);
  t.same(errorsOf(pod('', `, annotations: { big: "${'x'.repeat(256 * 1024)}" }`)), ['metadata.annotations: may not be more than 262144 bytes (256 KiB) in total, got 262147']);
  t.same(errorsOf(pod('', `, annotations: { big: "${'x'.repeat(256 * 1024 - 3)}" }`)), [], 'exactly 256 KiB is allowed');
  const cm = (key: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: m }\ndata: { "${key}": v }\n---\n${pod('')}`;
  for (const key of ['.', '..']) t.match(errorsOf(cm(key))[0] ?? '', /are not "\." or "\.\."/, `key ${key} refused`);
  t.same(errorsOf(cm('...')), [], 'three dots is a name');
});

t.test('emptyDir.sizeLimit on disk is an eviction limit (measured as du does); in memory it sizes the tmpfs', async (t) => {
  t.same(errorsOf(pod(`  volumes: [{ name: v, emptyDir: { sizeLimit: 10Mi } }]`)), []);
  t.same(errorsOf(pod(`  volumes: [{ name: v, emptyDir: { medium: Memory, sizeLimit: 10Mi } }]`)), []);
  const { limitedEmptyDirs, overLimit } = await import('../../src/pod/volume-usage');
  const { diskUsage } = await import('../../src/util/disk-usage');
  const { pod: p } = parsePodManifest(pod(`  volumes: [{ name: v, emptyDir: { sizeLimit: 1Mi } }, { name: m, emptyDir: { medium: Memory, sizeLimit: 1Mi } }, { name: free, emptyDir: {} }]`), 'p.yaml');
  const limited = limitedEmptyDirs(p);
  t.same(limited, [{ name: 'v', limit: 1024 * 1024, asWritten: '1Mi' }], 'only the disk-backed one with a limit');
  const vols = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-du-'));
  t.teardown(() => fs.rmSync(vols, { recursive: true, force: true }));
  fs.mkdirSync(path.join(vols, 'v'));
  fs.writeFileSync(path.join(vols, 'v', 'a'), Buffer.alloc(600 * 1024, 1));
  fs.linkSync(path.join(vols, 'v', 'a'), path.join(vols, 'v', 'a-again'));
  fs.symlinkSync('/usr', path.join(vols, 'v', 'out'));
  const { bytes: used, inodes } = diskUsage(path.join(vols, 'v'));
  t.equal(inodes, 3, 'the directory, the file (once) and the symlink');
  t.ok(used >= 600 * 1024 && used < 700 * 1024, `a hard link counted once, a symlink not followed (${used} bytes)`);
  t.equal(overLimit(vols, limited), undefined, 'under its limit');
  fs.writeFileSync(path.join(vols, 'v', 'b'), Buffer.alloc(600 * 1024, 1));
  t.equal(overLimit(vols, limited), 'Evicted: Usage of EmptyDir volume "v" exceeds the limit "1Mi".');
});

t.test('subPath: a bind of the volume with x-podrun.subpath, encoded as a mount resolved beneath it', async (t) => {
  t.same(parseMountOptions(['rbind', 'ro', 'x-podrun.subpath=a/b']).subpath, 'a/b');
  const m = planMount({ destination: '/data/', type: 'bind', source: '/vol', options: ['rbind', 'x-podrun.subpath=a/b'] }, 3, '/bundle');
  t.match(m, { source: '/vol', destination: '/data', bind: true, subpath: 'a/b', field: 'mounts[3]' });
  for (const bad of ['../x', '/abs', 'a/../../b', '']) {
    t.throws(() => planMount({ destination: '/d', type: 'bind', source: '/vol', options: ['rbind', `x-podrun.subpath=${bad}`] }, 0, '/b'), /mounts\[0\]\.options: x-podrun\.subpath=.*must be a relative path without "\.\."/);
  }
  t.throws(() => planMount({ destination: '/d', type: 'tmpfs', source: 'tmpfs', options: ['x-podrun.subpath=a'] }, 0, '/b'), /is for bind mounts/);
  // the encoded record: kind 2, source the volume, data the subpath
  const plan = { mounts: [m], joins: [], devices: [], symlinks: [], maskedPaths: [], readonlyPaths: [], sysctls: [], rlimits: [], args: ['true'], env: [], rootfs: '/r' };
  const buf = encodePlan(plan as unknown as Parameters<typeof encodePlan>[0]);
  const at = buf.indexOf(Buffer.from('/vol\0/data\0\0a/b\0'));
  t.ok(at > 0, 'source, destination, no type, subpath');
  t.equal(buf.readUInt32LE(at - 4), 2, 'kind 2: a bind resolved beneath its source');
});

t.test('container ids are runc\'s: no separators, not . or ..', async (t) => {
  for (const id of ['a', 'A-b_c.d+e', 'x'.repeat(1024), '..a', 'a..']) t.ok(isValidContainerId(id), id);
  for (const id of ['', '.', '..', 'a/b', '../x', '/etc', 'a b', 'a\n', 'x'.repeat(1025), 'é']) t.notOk(isValidContainerId(id), JSON.stringify(id));
});

t.test('a launch error is told in the Pod\'s terms', async (t) => {
  const config = { ociVersion: '1.2.0', mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/data', type: 'bind', source: '/v' }] } as OciConfig;
  const c = { name: 'c', image: 'busybox', volumeMounts: [{ name: 'x', mountPath: '/other' }, { name: 'v', mountPath: '/data/', subPath: 's' }] };
  const e = (field: string) => new PodrunError('ELAUNCH', `boom: EXDEV [${field}]`, { field, step: 'mount' });
  const cwd = inPodTerms(e('process.cwd'), 'spec.containers[1]', c, config) as PodrunError;
  t.match(cwd, { message: 'boom: EXDEV [spec.containers[1].workingDir]', field: 'spec.containers[1].workingDir', step: 'mount' });
  t.match(inPodTerms(e('mounts[1]'), 'spec.initContainers[0]', c, config), { field: 'spec.initContainers[0].volumeMounts[1].subPath' });
  t.match(inPodTerms(e('process.args[0]'), 'spec.containers[0]', c, config), { field: 'spec.containers[0].image' }, 'no command: the image\'s entrypoint');
  const withArgs = { ...config, process: { cwd: '/', args: ['nope', 'x'] } } as OciConfig;
  t.match(inPodTerms(e('process.args[0]'), 'spec.containers[0]', { ...c, args: ['nope', 'x'] }, withArgs), { field: 'spec.containers[0].args' }, 'args in place of the image\'s Cmd: args');
  t.match(inPodTerms(e('process.args[0]'), 'spec.containers[0]', { ...c, command: ['nope'] }, withArgs), { field: 'spec.containers[0].command' });
  const other = e('linux.sysctl');
  t.equal(inPodTerms(other, 'spec.containers[0]', c, config), other, 'a field with no Pod counterpart stays as it was');
});
