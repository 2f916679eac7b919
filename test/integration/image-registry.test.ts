/** podrun pull against a real registry (Debian's docker-registry on
 * 127.0.0.1), fed by skopeo: gzip and zstd layers, a multi-arch index,
 * warm pulls, basic and bearer-token auth, clear errors. */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ImageStore, mountRootfs, pullImage, removeRootfs, type PullEvent } from '../../src/image';
import { fixtures, podrunBin, runCmd, runScript, tempDir } from '../helpers';
import { startRegistry } from '../support/registry';
import { layoutBlobs } from '../support/oci-layout';

const podrun = (dataRoot: string, ...args: string[]) => runCmd(podrunBin, ['--data-root', dataRoot, ...args]);

/** An OCI layout whose index offers the layered image as linux/amd64 and
 * (same layers, config relabelled) linux/arm64/v8. */
function multiArchLayout(src: string, dest: string): void {
  fs.cpSync(src, dest, { recursive: true });
  const { file: blob, readJson, put } = layoutBlobs(dest);
  const index = JSON.parse(fs.readFileSync(path.join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; mediaType: string }> };
  const amd = index.manifests[0];
  const manifest = readJson<{ config: { digest: string; size: number } }>(amd.digest);
  const config = readJson<Record<string, unknown>>(manifest.config.digest);
  const armConfig = put(JSON.stringify({ ...config, architecture: 'arm64', variant: 'v8' }));
  const armManifest = put(JSON.stringify({ ...manifest, config: { ...manifest.config, ...armConfig } }));
  fs.writeFileSync(path.join(dest, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.index.v1+json',
      ...put(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: amd.mediaType, digest: amd.digest, size: fs.statSync(blob(amd.digest)).size, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: amd.mediaType, ...armManifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      })),
      annotations: { 'org.opencontainers.image.ref.name': 'latest' },
    }],
  }));
}

t.test('plain registry: gzip, zstd, multi-arch, warm pull, run', async (t) => {
  const fx = await fixtures();
  const reg = await startRegistry(t, await tempDir(t, 'podrun-registry-'));
  await reg.push(fx.images['busybox-gzip'], 'busybox:gzip');
  await reg.push(fx.images['busybox-zstd'], 'busybox:zstd');
  const multi = path.join(await tempDir(t), 'multi');
  multiArchLayout(fx.images['layered-gzip'], multi);
  await reg.push(multi, 'team/multi:1', { all: true, srcRef: 'latest' });
  const dataRoot = await tempDir(t, 'podrun-data-');

  for (const tag of ['gzip', 'zstd']) {
    const r = await podrun(dataRoot, 'pull', '--insecure', `${reg.host}/busybox:${tag}`);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/busybox:${tag} sha256:[a-f0-9]{64}\\n$`));
  }
  const amd = await podrun(dataRoot, 'pull', '--insecure', '-q', `${reg.host}/team/multi:1`);
  t.equal(amd.code, 0, amd.stderr);
  const arm = await podrun(dataRoot, 'pull', '--insecure', '-q', '--platform', 'linux/arm64', '--name', `${reg.host}/team/multi:arm`, `${reg.host}/team/multi:1`);
  t.equal(arm.code, 0, arm.stderr);
  t.not(amd.stdout, arm.stdout, 'the index gave a different image per platform');
  const shown = JSON.parse((await podrun(dataRoot, 'image', 'inspect', `${reg.host}/team/multi:arm`)).stdout) as Array<{ platform: string }>;
  t.equal(shown[0].platform, 'linux/arm64/v8');
  const s390 = await podrun(dataRoot, 'pull', '--insecure', '--platform', 'linux/s390x', `${reg.host}/team/multi:1`);
  t.equal(s390.code, 1);
  t.match(s390.stderr, /no image for platform linux\/s390x \(offered: linux\/amd64, linux\/arm64\/v8\)/);

  // warm pull: every layer already unpacked, nothing fetched
  const events: PullEvent[] = [];
  await pullImage(`${reg.host}/team/multi:1`, { dataRoot, insecure: true, onEvent: (e) => events.push(e) });
  t.equal(events.filter((e) => e.kind === 'layer-cached').length, 3, 'warm pull reuses all three layers');
  t.equal(events.filter((e) => e.kind === 'layer-bytes').length, 0, 'and downloads none');

  // run a container from the pulled image
  const store = new ImageStore(dataRoot);
  const img = JSON.parse((await podrun(dataRoot, 'image', 'inspect', `${reg.host}/team/multi:1`)).stdout) as Array<{ rootfs: { diffIds: string[] } }>;
  const ctr = path.join(dataRoot, 'ctr');
  const p = mountRootfs(store, img[0].rootfs.diffIds, ctr);
  t.teardown(() => removeRootfs(ctr));
  const r = await runScript(t, 'cat /usr/share/podrun/symlink.txt; ls /opt/olddir', (c) => void (c.root = { path: p.rootfs }));
  t.equal(r.stdout, 'target from layer 3\nnew\n', r.stderr);

  const missing = await podrun(dataRoot, 'pull', '--insecure', `${reg.host}/busybox:nope`);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /busybox:nope: manifest not found \(MANIFEST_UNKNOWN/);
  const tls = await podrun(dataRoot, 'pull', `${reg.host}/busybox:gzip`);
  t.equal(tls.code, 1);
  t.match(tls.stderr, /cannot reach 127\.0\.0\.1:\d+: .*pass --insecure/);
});

for (const auth of ['basic', 'token'] as const) {
  t.test(`${auth} auth: refused without credentials, pulls with auth.json`, async (t) => {
    const fx = await fixtures();
    const reg = await startRegistry(t, await tempDir(t, 'podrun-registry-'), auth);
    await reg.push(fx.images['busybox-gzip'], 'private/busybox:1');
    const dataRoot = await tempDir(t, 'podrun-data-');
    const denied = await runCmd(podrunBin, ['--data-root', dataRoot, 'pull', '--insecure', `${reg.host}/private/busybox:1`], {});
    t.equal(denied.code, 1);
    t.match(denied.stderr, auth === 'basic' ? /requires a login; no credentials for 127\.0\.0\.1:\d+ in auth\.json/ : /token service refused \(HTTP 401\); no credentials in auth\.json/);
    const ok = await podrun(dataRoot, 'pull', '--insecure', '--authfile', reg.authFile as string, `${reg.host}/private/busybox:1`);
    t.equal(ok.code, 0, ok.stderr);
    const bad = path.join(dataRoot, 'bad-auth.json');
    fs.writeFileSync(bad, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('podrun:wrong').toString('base64') } } }));
    t.equal((await podrun(dataRoot, 'rmi', `${reg.host}/private/busybox:1`)).code, 0);
    const wrong = await podrun(dataRoot, 'pull', '--insecure', '--authfile', bad, `${reg.host}/private/busybox:1`);
    t.equal(wrong.code, 1);
    t.match(wrong.stderr, auth === 'basic' ? /access denied/ : /token service refused \(HTTP 401\)/);
  });
}

t.test('TLS registry: trusts the CAs of NODE_EXTRA_CA_CERTS, which node itself no longer loads at start-up', async (t) => {
  const fx = await fixtures();
  const reg = await startRegistry(t, await tempDir(t, 'podrun-registry-'), 'none', { tls: true });
  await reg.push(fx.images['busybox-gzip'], 'busybox:1');
  const dataRoot = await tempDir(t, 'podrun-data-');
  const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
  const pull = (extra: NodeJS.ProcessEnv) => runCmd(podrunBin, ['--data-root', dataRoot, 'pull', '-q', `${reg.host}/busybox:1`], { env: { ...env, ...extra } });

  const untrusted = await pull({});
  t.equal(untrusted.code, 1);
  t.match(untrusted.stderr, /cannot reach 127\.0\.0\.1:\d+: UNABLE_TO_VERIFY_LEAF_SIGNATURE \(unable to verify the first certificate: signed by a private CA\? name its PEM file in NODE_EXTRA_CA_CERTS\)/);
  // a trusted certificate for another name: said as such, with what to do
  const misnamed = await runCmd(podrunBin, ['--data-root', dataRoot, 'pull', '-q', `${reg.host.replace('127.0.0.1', 'localhost')}/busybox:1`], { env: { ...env, NODE_EXTRA_CA_CERTS: reg.caFile } });
  t.equal(misnamed.code, 1);
  t.match(misnamed.stderr, /ERR_TLS_CERT_ALTNAME_INVALID \(its TLS certificate is not for the name localhost: .*127\.0\.0\.1.*; pull it by a name the certificate lists/);
  const trusted = await pull({ NODE_EXTRA_CA_CERTS: reg.caFile });
  t.equal(trusted.code, 0, trusted.stderr);
  t.match(trusted.stdout, /^sha256:[a-f0-9]{64}\n$/);
  t.equal((await podrun(dataRoot, 'rmi', `${reg.host}/busybox:1`)).code, 0);
  const missing = await pull({ NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /extra CA certificates \/nonexistent\/ca\.pem \(NODE_EXTRA_CA_CERTS\): ENOENT/);

  // node warns at start-up about an extra-CA file it could not load: it never tries now
  const version = await runCmd(podrunBin, ['--version'], { env: { ...env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' } });
  t.equal(version.code, 0);
  t.equal(version.stderr, '', 'node did not read NODE_EXTRA_CA_CERTS');
  const oci = await runCmd(`${podrunBin}-oci`, ['--version'], { env: { ...env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' } });
  t.equal(oci.code, 0);
  t.equal(oci.stderr, '', 'nor did it when podrun-oci handed a command to node');
  const node = await runCmd(process.execPath, ['-e', '0'], { env: { ...env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' } });
  t.match(node.stderr, /Ignoring extra certs/, 'plain node would have (the check above can fail)');
});
