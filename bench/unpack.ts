/** Image benchmarks, each against the tool a user would otherwise use, in
 * the same run:
 *  - unpacking one ~200 MB layer of 40 000 small files (gzip, zstd, plain)
 *    with podrun vs GNU tar vs `umoci raw unpack`;
 *  - `podrun pull` of a two-layer image from a local docker-registry, cold
 *    (empty store) and warm, vs `podman pull` into a fresh storage root.
 * Everything extracts onto a tmpfs mounted in the bench's private mount
 * namespace: ext4 here slows extraction after rm -rf (its inode allocator
 * skips recently freed inodes), which would measure the disk's history. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureFixtures } from '../rootfs-fixtures/generate';
import { startRegistry } from '../test/support/registry';
import { benchMain, hyperfine, podrun, repo } from './common';

const CACHE = '/var/tmp/podrun-bench-layer-v2';
const FILES = 40_000;

/** A tree of FILES files of 0–9 KB (sizes from a fixed seed; a third random bytes, the rest text). */
function generateTree(dir: string): void {
  let seed = 1;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const words = Array.from({ length: 500 }, (_, i) => `w${i.toString(36)}`.repeat(1 + (i % 5)));
  for (let d = 0; d < FILES / 100; d++) {
    const sub = path.join(dir, `d${d}`, `sub${d % 7}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const size = Math.floor(rnd() * 9000);
      const random = randomBytes(Math.floor(size / 3)); // incompressible third: ~2:1 overall, like binaries

      let text = '';
      while (text.length < size - random.length) text += `${words[Math.floor(rnd() * words.length)]} `;
      fs.writeFileSync(path.join(sub, `f${f}.dat`), Buffer.concat([random, Buffer.from(text.slice(0, size - random.length))]));
    }
  }
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** An OCI layout holding the big layer (in `kind` compression) over busybox. */
function writeLayout(layout: string, busyboxLayout: string, raw: string, blob: string, kind: 'gzip' | 'zstd'): void {
  fs.mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });
  fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const bbIndex = JSON.parse(fs.readFileSync(path.join(busyboxLayout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const bbBlob = (d: string): string => path.join(busyboxLayout, 'blobs/sha256', d.slice(7));
  const bbManifest = JSON.parse(fs.readFileSync(bbBlob(bbIndex.manifests[0]!.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string; size: number; mediaType: string }> };
  const bbConfig = JSON.parse(fs.readFileSync(bbBlob(bbManifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } };
  const put = (data: Buffer | string): { digest: string; size: number } => {
    const digest = `sha256:${sha(data)}`;
    fs.writeFileSync(path.join(layout, 'blobs/sha256', digest.slice(7)), data);
    return { digest, size: Buffer.byteLength(data) };
  };
  const bbLayer = bbManifest.layers[0]!;
  fs.copyFileSync(bbBlob(bbLayer.digest), path.join(layout, 'blobs/sha256', bbLayer.digest.slice(7)));
  const bigDigest = `sha256:${execFileSync('sha256sum', [blob], { encoding: 'utf8' }).split(' ')[0]}`;
  fs.copyFileSync(blob, path.join(layout, 'blobs/sha256', bigDigest.slice(7)));
  const diffId = `sha256:${execFileSync('sha256sum', [raw], { encoding: 'utf8' }).split(' ')[0]}`;
  const config = put(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [bbConfig.rootfs.diff_ids[0], diffId] } }));
  const manifest = put(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [bbLayer, { mediaType: `application/vnd.oci.image.layer.v1.tar+${kind}`, digest: bigDigest, size: fs.statSync(blob).size }],
  }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'big' } }],
  }));
}

function prepareCache(busyboxLayout: string): void {
  if (fs.existsSync(path.join(CACHE, 'DONE'))) return;
  fs.rmSync(CACHE, { recursive: true, force: true });
  fs.mkdirSync(CACHE, { recursive: true });
  process.stderr.write(`generating a layer of ${FILES} files in ${CACHE} (once)…\n`);
  generateTree(path.join(CACHE, 'tree'));
  execFileSync('tar', ['-cf', path.join(CACHE, 'layer.tar'), '--numeric-owner', '-C', path.join(CACHE, 'tree'), '.']);
  fs.rmSync(path.join(CACHE, 'tree'), { recursive: true, force: true });
  fs.writeFileSync(path.join(CACHE, 'layer.tar.gz'), gzipSync(fs.readFileSync(path.join(CACHE, 'layer.tar')), { level: 6 }));
  execFileSync('zstd', ['-q', '-3', path.join(CACHE, 'layer.tar'), '-o', path.join(CACHE, 'layer.tar.zst')]);
  for (const [kind, ext] of [['gzip', 'gz'], ['zstd', 'zst']] as const) {
    writeLayout(path.join(CACHE, `layout-${kind}`), busyboxLayout, path.join(CACHE, 'layer.tar'), path.join(CACHE, `layer.tar.${ext}`), kind);
  }
  fs.writeFileSync(path.join(CACHE, 'DONE'), '');
}

function row(name: string, mean: number, anchor: number, anchorName: string): string {
  return `${name.padEnd(34)} ${(mean * 1000).toFixed(0).padStart(6)} ms   ${(anchor / mean).toFixed(2)}× ${anchorName} speed`;
}

async function inner(): Promise<void> {
  const runs = Number(process.env.PODRUN_BENCH_RUNS ?? 5);
  const fx = await ensureFixtures();
  prepareCache(fx.images['busybox-gzip']!);
  const mnt = fs.mkdtempSync('/tmp/podrun-bench-unpack-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8g', 'tmpfs', mnt]);
  const report: string[] = [];
  try {
    const unpackOne = path.join(repo, 'dist', 'bench', 'unpack-one.js');
    // what a node process costs before it unpacks anything: the same command on an empty layer
    const empty = path.join(mnt, 'empty.tar');
    fs.writeFileSync(empty, Buffer.alloc(1024));
    const startup = hyperfine({ 'podrun unpack (empty layer)': `node ${unpackOne} ${empty} ${mnt}` }, runs * 2, [], 1)['podrun unpack (empty layer)']!.mean;
    for (const [kind, file] of [['gzip', 'layer.tar.gz'], ['zstd', 'layer.tar.zst'], ['plain', 'layer.tar']] as const) {
      const blob = path.join(CACHE, file);
      const d = path.join(mnt, 'x');
      const tarFlags = kind === 'gzip' ? '-xzf' : kind === 'zstd' ? '--zstd -xf' : '-xf';
      const cmds: Record<string, string> = {
        [`GNU tar ${tarFlags}`]: `tar ${tarFlags} ${blob} -C ${d}`,
        'podrun unpack': `node ${unpackOne} ${blob} ${d}`,
      };
      // umoci 0.4 (Debian 12) reads gzip layers only
      if (kind === 'gzip') cmds['umoci raw unpack'] = `umoci raw unpack --image ${path.join(CACHE, `layout-${kind}`)}:big ${d}/rootfs`;
      const h = hyperfine(cmds, runs, ['--prepare', `sh -c 'rm -rf ${d} && mkdir ${d}'`], 1);
      const tar = h[`GNU tar ${tarFlags}`]!.mean;
      report.push(`unpack ${kind} (${(fs.statSync(blob).size / 1e6).toFixed(0)} MB blob, ${FILES} files):`);
      report.push(row(`  GNU tar ${tarFlags}`, tar, tar, 'GNU tar'));
      report.push(row('  podrun', h['podrun unpack']!.mean, tar, 'GNU tar'));
      report.push(`    (of which ${(startup * 1000).toFixed(0)} ms start node and load podrun: unpack alone ${((h['podrun unpack']!.mean - startup) * 1000).toFixed(0)} ms)`);
      if (h['umoci raw unpack']) report.push(row('  umoci raw unpack (both layers)', h['umoci raw unpack']!.mean, tar, 'GNU tar'));
    }

    // pulls from a local registry: podrun vs podman
    const teardowns: Array<() => unknown> = [];
    try {
      const regDir = path.join(mnt, 'registry');
      fs.mkdirSync(regDir);
      const reg = await startRegistry({ teardown: (fn) => teardowns.push(fn) }, regDir);
      await reg.push(path.join(CACHE, 'layout-gzip'), 'bench/big:gzip', { srcRef: 'big' });
      const ref = `${reg.host}/bench/big:gzip`;
      const pr = path.join(mnt, 'podrun-data');
      const pm = path.join(mnt, 'podman');
      const podmanCmd = `podman --root ${pm}/root --runroot ${pm}/run --storage-driver overlay pull -q --tls-verify=false ${ref}`;
      const probe = spawnSync('sh', ['-c', podmanCmd], { encoding: 'utf8' });
      const cmds: Record<string, string> = { 'podrun pull (cold)': `${podrun} --data-root ${pr} pull -q --insecure ${ref}` };
      if (probe.status === 0) cmds['podman pull (cold)'] = podmanCmd;
      else process.stderr.write(`podman pull unavailable: ${probe.stderr}\n`);
      const cold = hyperfine(cmds, runs, ['--prepare', `sh -c 'rm -rf ${pr} ${pm}'`], 1);
      const warmCmds = Object.fromEntries(Object.entries(cmds).map(([k, v]) => [k.replace('cold', 'warm'), v]));
      const warm = hyperfine(warmCmds, runs * 2, [], 1);
      const podmanCold = cold['podman pull (cold)']?.mean;
      const podmanWarm = warm['podman pull (warm)']?.mean;
      report.push(`pull of a 2-layer image (busybox + the ${(fs.statSync(path.join(CACHE, 'layer.tar.gz')).size / 1e6).toFixed(0)} MB gzip layer) from docker-registry on 127.0.0.1:`);
      if (podmanCold && podmanWarm) {
        report.push(row('  podman pull (cold)', podmanCold, podmanCold, 'podman'));
        report.push(row('  podrun pull (cold)', cold['podrun pull (cold)']!.mean, podmanCold, 'podman'));
        report.push(row('  podman pull (warm)', podmanWarm, podmanWarm, 'podman'));
        report.push(row('  podrun pull (warm)', warm['podrun pull (warm)']!.mean, podmanWarm, 'podman'));
      } else {
        report.push(`  podrun pull cold ${(cold['podrun pull (cold)']!.mean * 1000).toFixed(0)} ms, warm ${(warm['podrun pull (warm)']!.mean * 1000).toFixed(0)} ms`);
      }
    } finally {
      for (const fn of teardowns.reverse()) await fn();
    }
  } finally {
    spawnSync('umount', ['-l', mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
  process.stdout.write(`\n${report.join('\n')}\n(ratios: anchor time / tool time; > 1 means faster than the anchor)\n`);
}

benchMain(__filename, inner);
