/** Image logic that needs no root: references, sources, platforms, image
 * config → container defaults, auth parsing. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { containerDefaults, mergeEnv, processArgs, resolveUser } from '../../src/image/image-config';
import { parseImageConfig, parseIndex, parseManifest } from '../../src/image/image-docs';
import { layerCompression, sniffCompression } from '../../src/image/media-types';
import { overlayOptions } from '../../src/image/overlay';
import { parsePlatform, selectManifest } from '../../src/image/platform';
import { formatImageRef, normalizeName, parseImageRef, parseSource } from '../../src/image/reference';
import { findCredentials, parseChallenge } from '../../src/image/sources/registry-auth';

t.test('references normalise as docker does', async (t) => {
  t.equal(normalizeName('busybox'), 'docker.io/library/busybox:latest');
  t.equal(normalizeName('user/app:1.2'), 'docker.io/user/app:1.2');
  t.equal(normalizeName('127.0.0.1:5000/x/y:t'), '127.0.0.1:5000/x/y:t');
  t.equal(normalizeName('localhost/img'), 'localhost/img:latest');
  t.equal(normalizeName('index.docker.io/library/alpine:3'), 'docker.io/library/alpine:3');
  const d = `sha256:${'a'.repeat(64)}`;
  t.same(parseImageRef(`busybox@${d}`), { registry: 'docker.io', repository: 'library/busybox', tag: undefined, digest: d });
  t.equal(formatImageRef(parseImageRef(`quay.io/a/b:v1@${d}`)), `quay.io/a/b:v1@${d}`);
  t.equal(normalizeName('x', 'registry.local:5000'), 'registry.local:5000/x:latest');
  t.throws(() => parseImageRef('UPPER/case'), /repository component "UPPER" is invalid/);
  t.throws(() => parseImageRef('a@sha256:xyz'), /digest "sha256:xyz" is not sha256/);
  t.throws(() => parseImageRef('a:bad tag'), /tag "bad tag" is invalid/);
  t.throws(() => parseImageRef(''), /is empty/);
});

t.test('sources: transports and PATH[:REF]', async (t) => {
  t.same(parseSource('oci:/a/b'), { transport: 'oci', path: '/a/b', refName: undefined });
  t.same(parseSource('oci:/a/b:v1'), { transport: 'oci', path: '/a/b', refName: 'v1' });
  t.same(parseSource('oci-archive:img.tar'), { transport: 'oci', path: 'img.tar', refName: undefined });
  t.same(parseSource('docker-archive:/x/save.tar:example.com/a/b:v1'), { transport: 'docker-archive', path: '/x/save.tar', refName: 'example.com/a/b:v1' });
  t.same(parseSource('docker://busybox'), { transport: 'registry', ref: parseImageRef('busybox') });
  t.same(parseSource('busybox').transport, 'registry');
});

t.test('platform selection names what an index offers', async (t) => {
  const desc = (architecture: string, variant?: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${architecture.padEnd(64, '0').slice(0, 64).replace(/[^a-f0-9]/g, '0')}`, size: 1, platform: { os: 'linux', architecture, variant } });
  const index = { schemaVersion: 2 as const, manifests: [desc('amd64'), desc('arm64', 'v8'), desc('arm', 'v7')] };
  t.equal(selectManifest(index, parsePlatform('linux/arm64'), 'x').platform?.architecture, 'arm64');
  t.equal(selectManifest(index, parsePlatform('linux/arm/v7'), 'x').platform?.variant, 'v7');
  t.throws(() => selectManifest(index, parsePlatform('linux/s390x'), 'img'), /img: no image for platform linux\/s390x \(offered: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7\)/);
  t.throws(() => parsePlatform('linux'), /expected os\/arch/);
});

t.test('documents are validated with field paths', async (t) => {
  t.throws(() => parseManifest('{"schemaVersion":2,"config":{"mediaType":"x","digest":"md5:1","size":1},"layers":[]}', 'm'), /m: invalid manifest:\n {2}config\.digest: must be a sha256 digest/);
  t.throws(() => parseIndex('{"schemaVersion":1,"manifests":[]}', 'i'), /schemaVersion/);
  t.throws(() => parseImageConfig('not json', 'c'), /c: not valid JSON/);
  t.throws(() => parseImageConfig('{"architecture":"amd64","os":"linux"}', 'c'), /rootfs: required/);
  const cfg = parseImageConfig(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: null, Env: ['A=1'], Extra: 1 }, rootfs: { type: 'layers', diff_ids: [] } }), 'c');
  t.same(cfg.config?.Env, ['A=1'], 'unknown fields pass, nulls allowed');
});

t.test('media types and magic numbers', async (t) => {
  t.equal(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd'), 'zstd');
  t.equal(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip'), 'gzip');
  t.equal(layerCompression('application/vnd.oci.image.layer.v1.tar'), 'none');
  t.equal(layerCompression('text/plain'), null);
  t.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  t.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  t.equal(sniffCompression(Buffer.from('ustar')), 'none');
});

t.test('image config → container defaults, Kubernetes command rules', async (t) => {
  const d = containerDefaults(parseImageConfig(JSON.stringify({
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] },
    config: { Entrypoint: ['/entry'], Cmd: ['--flag'], Env: ['PATH=/bin', 'A=image'], WorkingDir: '/srv', User: 'app', ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, Labels: { l: 'v' } },
  }), 'c'));
  t.same(d.exposedPorts, ['80/tcp']);
  t.same(d.volumes, ['/data']);
  t.equal(d.workingDir, '/srv');
  t.same(processArgs(d), ['/entry', '--flag']);
  t.same(processArgs(d, undefined, ['x']), ['/entry', 'x'], 'args replace Cmd');
  t.same(processArgs(d, ['/bin/sh']), ['/bin/sh'], 'command replaces Entrypoint and drops Cmd');
  t.same(processArgs(d, ['/bin/sh'], ['-c', 'echo']), ['/bin/sh', '-c', 'echo']);
  t.throws(() => processArgs({ ...d, entrypoint: [], cmd: [] }), /no command/);
  t.same(mergeEnv(d.env, ['A=pod', 'B=1']), ['PATH=/bin', 'A=pod', 'B=1']);
  t.equal(containerDefaults(parseImageConfig('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', 'c')).workingDir, '/');
});

t.test('users resolve against the image\'s passwd and group', async (t) => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:App:/home/app:/bin/sh\n';
  const group = 'root:x:0:\napp:x:1001:\nwheel:x:10:app,other\n';
  t.same(resolveUser('', passwd, group), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  t.same(resolveUser('app', passwd, group), { uid: 1000, gid: 1001, additionalGids: [10], home: '/home/app' });
  t.same(resolveUser('1000', passwd, group).gid, 1001, 'numeric uid takes the passwd gid');
  t.same(resolveUser('4242', passwd, group), { uid: 4242, gid: 0, additionalGids: [], home: undefined });
  t.same(resolveUser('app:wheel', passwd, group).gid, 10);
  t.same(resolveUser('5:6', undefined, undefined), { uid: 5, gid: 6, additionalGids: [], home: undefined });
  t.throws(() => resolveUser('ghost', passwd, group), /image\.config\.User: user "ghost" is not in the image's \/etc\/passwd/);
  t.throws(() => resolveUser('app:nogroup', passwd, group), /group "nogroup"/);
});

t.test('overlay options: top layer first, refuses separators', async (t) => {
  t.equal(overlayOptions(['/l/1', '/l/2'], { rootfs: '/c/rootfs', upper: '/c/upper', work: '/c/work' }), 'lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work');
  t.throws(() => overlayOptions(['/l/a:b'], { rootfs: 'r', upper: 'u', work: 'w' }), /cannot carry/);
});

t.test('registry auth: challenges and auth.json', async (t) => {
  t.same(parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'), {
    scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull' },
  });
  t.same(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  t.equal(parseChallenge('Negotiate'), undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podrun-auth-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'auth.json');
  fs.writeFileSync(file, JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from('alice:s3:cret').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('bob:pw').toString('base64') } } }));
  t.same(findCredentials('127.0.0.1:5000', [], file), { username: 'alice', password: 's3:cret' });
  t.same(findCredentials('docker.io', [file]), { username: 'bob', password: 'pw' });
  t.equal(findCredentials('quay.io', [file]), undefined);
  t.throws(() => findCredentials('x', [], path.join(dir, 'missing.json')), /auth file .*missing\.json/);
});
