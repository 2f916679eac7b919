/** Shared test helpers: fixture bundles, running the real CLI, host snapshots. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureFixtures, type Fixtures } from '../rootfs-fixtures/generate';
import { defaultSpec } from '../src/oci/default-spec';
import type { OciConfig } from '../src/oci/spec-schema';

// podrun-oci's warm helper outlives its last create by 30 s: a test that leaves it running would leave a
// process behind. Tests turn it on where they mean to (oci-helper.test.ts, podman.test.ts) and stop it.
process.env.PODRUN_OCI_HELPER ??= '0';

/** Stop the oci helper serving root, if one does (its pid file is under root). */
export function stopOciHelper(root: string): void {
  try {
    process.kill(Number(readFileSync(path.join(root, 'oci-helper.pid'), 'utf8')), 'SIGTERM');
  } catch {
    // none
  }
}

export const repoRoot = path.resolve(__dirname, '..', '..');
export const podrunBin = path.join(repoRoot, 'bin', 'podrun');

let fixturesPromise: Promise<Fixtures> | undefined;
export function fixtures(): Promise<Fixtures> {
  fixturesPromise ??= ensureFixtures();
  return fixturesPromise;
}

export const isRoot = process.getuid?.() === 0;

export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function tempDir(t: Teardown, prefix = 'podrun-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A file with a namespace pinned on it by `unshare --<kind>=FILE`, unmounted
 * and removed at teardown. */
export async function pinnedNamespace(t: Teardown, kind: 'net' | 'uts' | 'ipc', ...cmd: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'podrun-ns-'));
  const pin = path.join(dir, kind);
  await writeFile(pin, '');
  const made = await runCmd('unshare', [`--${kind}=${pin}`, ...(cmd.length ? cmd : ['true'])]);
  t.teardown(async () => {
    await runCmd('umount', [pin]);
    await rm(dir, { recursive: true, force: true });
  });
  if (made.code !== 0) throw new Error(`unshare --${kind}: ${made.stderr}`);
  return pin;
}

/** A bundle dir whose config is the default spec running `sh -c script`
 * on the busybox fixture rootfs, changed by `edit`. */
export async function makeBundle(t: Teardown, script: string, edit?: (c: OciConfig) => void): Promise<string> {
  const fx = await fixtures();
  const dir = await tempDir(t);
  const config = defaultSpec({ args: ['sh', '-c', script], rootfs: fx.rootfs });
  edit?.(config);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

export interface CmdResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCmd(
  cmd: string,
  args: string[],
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void; onStdout?: (soFar: string) => void } = {},
): Promise<CmdResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // a command that exits without reading stdin

    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (child.pid) opts.onSpawn?.(child.pid);
    child.stdin.end(opts.input ?? '');
  });
}

/** `podrun oci run --bundle DIR ID` through the real CLI. */
export function podrunRun(bundle: string, id = uniqueId(), extra: string[] = []): Promise<CmdResult> {
  return runCmd(podrunBin, ['oci', 'run', '--bundle', bundle, ...extra, id]);
}

/** Make a bundle, run it through the CLI, return what the user sees. */
export async function runScript(t: Teardown, script: string, edit?: (c: OciConfig) => void): Promise<CmdResult> {
  return podrunRun(await makeBundle(t, script, edit));
}

export interface HostSnapshot {
  mounts: string[];
  cgroups: string[];
  children: string[];
}

async function listCgroups(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth < 0) return;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    out.push(p);
    await listCgroups(p, depth - 1, out);
  }
}

/** Mounts, podrun cgroups and our child processes: compared before/after. */
export async function snapshotHost(): Promise<HostSnapshot> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo.split('\n').filter(Boolean).map((l) => l.split(' ').slice(3, 5).join(' ')).sort();
  const cgroups: string[] = [];
  // what is below podrun.slice, not the slice itself: it is the shared parent that whichever container
  // made it prunes when it is empty, so whether it exists depends on the order containers come and go
  const slice = '/sys/fs/cgroup/unified/podrun.slice';
  await listCgroups(slice, 4, cgroups);
  const children = (await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean);
  return { mounts, cgroups: cgroups.sort(), children };
}

/** Poll until cond holds; throws naming `what` after ms. */
export async function waitFor(cond: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Remove every pod a test's podrun left (gc, then rm -f of each): teardown of pod tests. */
export async function removeAllPods(podrun: (...args: string[]) => Promise<CmdResult>): Promise<void> {
  await podrun('gc');
  const ids = (JSON.parse((await podrun('ps', '-a', '--json')).stdout || '[]') as Array<{ id: string }>).map((p) => p.id);
  if (ids.length) await podrun('rm', '-f', ...ids);
}

/** The process has exited (gone, or a zombie its parent has not reaped yet). */
export function processGone(pid: number): boolean {
  try {
    return /State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** A pod test's own --data-root and --runroot with the fixture image loaded;
 * at teardown its pods are removed, then the roots. `manifest` writes a file. */
export async function podEnv(t: Teardown) {
  const fx = await fixtures();
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'podrun-data-'));
  const runRoot = mkdtempSync(path.join(os.tmpdir(), 'podrun-run-'));
  const roots = ['--data-root', dataRoot, '--runroot', runRoot];
  const podrun = (...args: string[]) => runCmd(podrunBin, [...roots, ...args]);
  /** podrun with this text on its stdin */
  const podrunFed = (input: string, ...args: string[]) => runCmd(podrunBin, [...roots, ...args], { input });
  // one teardown, in order: a test that fails half-way still removes its pods before their directories
  t.teardown(async () => {
    await removeAllPods(podrun);
    for (const d of [runRoot, dataRoot]) rmSync(d, { recursive: true, force: true });
  });
  const load = await podrun('load', '-q', '--name', 'localhost/podrun/busybox', fx.images['busybox-gzip']);
  if (load.code !== 0) throw new Error(load.stderr);
  const manifest = (name: string, yaml: string): string => {
    const f = path.join(dataRoot, `${name}.yaml`);
    writeFileSync(f, yaml);
    return f;
  };
  return { podrun, podrunFed, manifest, dataRoot, runRoot };
}
