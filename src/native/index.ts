/** The one narrow interface to the C side. Everything above talks to a
 * `NativeApi`; tests of plan logic pass a fake. */
import path from 'node:path';

export interface LaunchResult {
  pid: number;
  pidfd: number;
}

export interface ExitStatus {
  /** exit code when the process exited, null when killed */
  exitCode: number | null;
  /** signal number when killed, null otherwise */
  signal: number | null;
}

/** Error thrown by `launch`: which step failed, errno, offending plan item. */
export interface NativeLaunchError extends Error {
  code: 'ELAUNCH';
  step: string;
  errno: number;
  errnoName: string;
  /** index of the plan item (mount #, device #, rlimit # …), -1 if none */
  index: number;
  detail: string;
}

export interface NativeApi {
  /** Apply an encoded launch plan in a new child; returns once it has exec'd. */
  launch(plan: Buffer): LaunchResult;
  /** Resolve when the process behind pidfd exits (reaps it). */
  waitExit(pidfd: number): Promise<ExitStatus>;
  /** That wait no longer keeps Node running. */
  unrefWait(pidfd: number): void;
  /** posix_spawn `file` (an absolute path) with fds[i] as its fd i (env null: ours); a new session if asked */
  spawnFile(file: string, argv: string[], env: string[] | null, fds: number[], setsid: boolean): LaunchResult;
  /** a connected pair of unix stream sockets, close-on-exec */
  socketPair(): [number, number];
  sendSignal(pidfd: number, signal: number): void;
  /** pidfd for pid, or -1 if it does not exist */
  pidfdOpen(pid: number): number;
  closeFd(fd: number): void;
  /** every pidfd wait under way stops (at process exit) */
  stopWaits(): void;
  /** a TCP connection to address:port made inside the network namespace at netnsPath: its fd, connected (rejects
   * with `code` ECONNREFUSED, ETIMEDOUT, ENOENT… and `step`) */
  connectInNetns(netnsPath: string, address: string, port: number): Promise<number>;
}

export interface NativeLayerStats {
  entries: number;
  files: number;
  bytes: number;
  whiteouts: number;
  /** xattrs dropped because a layer may not set them (trusted.overlay.*) */
  droppedXattrs: number;
  /** in a user namespace: entries whose owner it does not map (made its root's) */
  unmappedOwners: number;
  /** in a user namespace: device nodes it may not make (skipped) */
  skippedDevices: number;
}

export interface NativeLayerResult {
  /** sha256 of the uncompressed tar, `sha256:<hex>` */
  diffId: string;
  stats: NativeLayerStats;
}

/** Unpacks one layer's uncompressed tar into a directory on a native thread,
 * hashing it on another (see native/image/layer_unpacker.cc); the bytes are
 * written in, or read from `fd` (which it then owns) and decompressed. A failure is an
 * Error with `kind`: 'unsafe' (+ entry), 'format' (+ offset) or 'sys'
 * (+ code, syscall, path). */
export interface NativeLayerUnpacker {
  /** without an fd: copy `chunk` in; blocks while 32 MiB are queued; throws an earlier failure */
  write(chunk: Buffer): void;
  /** without an fd, after the last write: wait for the rest to land; throws a failure */
  finish(): NativeLayerResult;
  /** with an fd: the end of its input, waited for off the JS thread */
  done(): Promise<NativeLayerResult>;
  /** stop, dropping what is queued */
  abort(): void;
}

/** Filesystem calls Node lacks. Errors look like Node's fs errors (code, syscall, path). */
export interface NativeFsApi {
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** `applyWhiteouts`: whiteouts delete (a flattened tree) instead of becoming overlayfs whiteouts */
  LayerUnpacker: new (root: string, applyWhiteouts: boolean, fd?: number, compression?: 'none' | 'gzip' | 'zstd') => NativeLayerUnpacker;
  /** null when the attribute is absent */
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** `sha256:<hex>` of data */
  sha256(data: Buffer): string;
  /** `bytes` (≤ 64) random bytes, hex */
  randomHex(bytes: number): string;
  umount(target: string, flags: number): void;
  /** a read-only bind of source at target with owners shifted by the maps of the user namespace at usernsPath */
  idmapMount(source: string, target: string, usernsPath: string): void;
  /** the kernel has mount_setattr(2) (5.12): recursive mount attributes ("rro") can be set */
  mountSetattrSupported(): boolean;
}

export function isNativeLaunchError(e: unknown): e is NativeLaunchError {
  return e instanceof Error && (e as Partial<NativeLaunchError>).code === 'ELAUNCH' && 'step' in e;
}

/** Repository/package root: dist/src/native → ../../.. ; the bundled CLI sets it. */
export function packageRoot(): string {
  return process.env.PODRUN_PACKAGE_ROOT ?? path.resolve(__dirname, '..', '..', '..');
}

let loaded: (NativeApi & NativeFsApi) | undefined;

/** Load the addon on first use (keeps CLI start-up lean). */
export function nativeApi(): NativeApi & NativeFsApi {
  if (!loaded) {
    const file = path.join(packageRoot(), 'build', 'Release', 'podrun.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as NativeApi & NativeFsApi;
    // the pidfd waits end before Node tears its environment down: a child ending then must not call into JS
    const api = loaded;
    process.once('exit', () => api.stopWaits());
  }
  return loaded;
}

/** The filesystem part of the addon alone (usable from worker threads). */
export function nativeFs(): NativeFsApi {
  return nativeApi();
}

export function monitorPath(): string {
  return path.join(packageRoot(), 'build', 'Release', 'podrun-monitor');
}

/** umount2 flag: detach now, finish when no longer busy */
export const MNT_DETACH = 2;

/** Lazily unmount `target` if something is mounted there (EINVAL: nothing is; ENOENT: it is gone). */
export function detachMount(target: string, fsx: Pick<NativeFsApi, 'umount'> = nativeFs()): void {
  try {
    fsx.umount(target, MNT_DETACH);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOENT') throw e;
  }
}
