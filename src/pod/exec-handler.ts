/** Kubernetes exec handlers (lifecycle postStart/preStop): a command run in
 * a running container, its output kept in a file (not on podrun's stdio),
 * killed when it outlives its time. */
import fs from 'node:fs';
import path from 'node:path';
import { execInContainer } from '../oci/lifecycle';

export interface HandlerResult {
  /** exit code; null when killed (timeout) or the exec could not start */
  code: number | null;
  /** what it wrote (the last 4 KiB), or why it did not run */
  output: string;
  timedOut: boolean;
  /** why a hook that is no command failed (an httpGet without an answer) */
  failure?: string;
}

export async function runExecHandler(ociRoot: string, ociId: string, command: string[], outFile: string, timeoutMs: number): Promise<HandlerResult> {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const fd = fs.openSync(outFile, 'w+', 0o600);
  const pidFile = `${outFile}.pid`;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    const run = execInContainer(ociId, { root: ociRoot, args: command, stdioFd: fd, pidFile });
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
        } catch {
          /* not started yet, or gone */
        }
        resolve();
      }, timeoutMs);
    });
    const r = await Promise.race([run, timeout.then(() => run)]);
    const out = fs.readFileSync(outFile);
    return { code: timedOut ? null : (r.exitCode ?? null), output: out.subarray(Math.max(0, out.length - 4096)).toString('utf8'), timedOut };
  } catch (e) {
    return { code: null, output: (e as Error).message, timedOut };
  } finally {
    clearTimeout(timer);
    fs.closeSync(fd);
    fs.rmSync(pidFile, { force: true });
  }
}

/** "exited with 3: <output>" for a warning. */
export function describeHandler(r: HandlerResult, timeoutMs: number): string {
  if (r.failure) return `failed: ${r.failure}`;
  const why = r.timedOut ? `did not finish in ${timeoutMs / 1000} s` : r.code === null ? 'could not run' : `exited with ${r.code}`;
  const out = r.output.trim();
  return out ? `${why}: ${out.split('\n').slice(-3).join(' | ')}` : why;
}
