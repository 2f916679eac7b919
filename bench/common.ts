/** Shared bench plumbing: hyperfine runs, and running a bench inside a
 * private mount namespace where cgroup2 is /sys/fs/cgroup (so runc and
 * podman use cgroup v2 and never touch this hybrid host's v1 hierarchies). */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCgroup2Mount } from '../src/cgroup/mount';

export const repo = path.resolve(__dirname, '..', '..');
export const podrun = path.join(repo, 'bin', 'podrun');
export const podrunOci = path.join(repo, 'build', 'Release', 'podrun-oci'); // the binary, not bin/'s finder script
export const monitor = path.join(repo, 'build', 'Release', 'podrun-monitor');

export interface HyperfineResult {
  command: string;
  mean: number;
  stddev: number;
  median: number;
}

export function hyperfine(commands: Record<string, string>, runs: number, extra: string[] = [], warmup = 5): Record<string, HyperfineResult> {
  const out = path.join(os.tmpdir(), `podrun-bench-${process.pid}.json`);
  const args = ['-N', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, '--style', 'basic', ...extra];
  for (const [name, cmd] of Object.entries(commands)) args.push('-n', name, cmd);
  execFileSync('hyperfine', args, { stdio: 'inherit' });
  const json = JSON.parse(readFileSync(out, 'utf8')) as { results: HyperfineResult[] };
  rmSync(out, { force: true });
  return Object.fromEntries(json.results.map((r) => [r.command, r]));
}

export const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

const INNER = 'PODRUN_BENCH_INNER';

/** Run inner() in the private mount namespace (re-executing this script). */
export function benchMain(script: string, inner: () => Promise<void>): void {
  if (process.env[INNER]) {
    inner().catch((e: unknown) => {
      process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    });
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root');
  for (const cmd of ['runc', 'hyperfine', 'unshare']) if (!have(cmd)) throw new Error(`${cmd} is not installed (run scripts/setup.sh)`);
  const cg2 = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (!cg2) throw new Error('no cgroup2 mount on this host');
  const sh = `mount --bind ${cg2} /sys/fs/cgroup && exec node ${script}`;
  // bin/podrun keeps NODE_EXTRA_CA_CERTS from node's start-up (node 20 builds its CA store from it there): so do the
  // node processes the benches run directly (`node -e 0` as the reference, unpack-one), or they would measure that
  const { NODE_EXTRA_CA_CERTS: extraCa, ...env } = process.env;
  if (extraCa) process.stdout.write(`(NODE_EXTRA_CA_CERTS is set here: not passed to the node processes below, as bin/podrun does not pass it to its node)\n`);
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', sh], { stdio: 'inherit', env: { ...env, [INNER]: '1' } });
  process.exitCode = r.status ?? 1;
}
