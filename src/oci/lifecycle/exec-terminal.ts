/** exec with a terminal (`podrun exec -t`): the process gets a pty in the
 * container, and podrun-monitor (`run --terminal`) receives its master and
 * connects it to our terminal — node cannot receive an fd over a socket. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PodrunError } from '../../errors';
import { nativeFs } from '../../native';
import { translateLaunchError } from '../launch-error';
import { encodePlan } from '../plan-encode';
import { exitResult } from '../signals';
import { execPlan, type ExecOptions, type ExecResult } from './exec';
import { parseReply, runMonitorTool } from './monitor-client';

/** The longest path a unix socket address takes. */
const SOCKET_PATH_MAX = 107;

export async function execWithTerminal(id: string, o: ExecOptions & { stdin?: boolean }): Promise<ExecResult> {
  // beside the container's state; in a private temp dir when that path is too long for a socket
  let dir = o.root;
  let tempDir: string | undefined;
  const name = `exec-${process.pid}-${nativeFs().randomHex(4)}`;
  if (path.resolve(dir, `${name}.sock`).length > SOCKET_PATH_MAX) dir = tempDir = mkdtempSync(path.join(os.tmpdir(), 'podrun-exec-'));
  const sock = path.resolve(dir, `${name}.sock`);
  const planFile = path.resolve(dir, `${name}.plan`);
  const plan = execPlan(id, { ...o, tty: true, consoleSocket: sock, stdinFd: undefined });
  writeFileSync(planFile, encodePlan(plan), { mode: 0o600 });
  try {
    const { code, stderr, pid } = await runMonitorTool(['run', planFile, '--terminal', sock, ...(o.stdin ? ['--stdin'] : [])]);
    const launchError = stderr.startsWith('err\t') ? parseReply(stderr.trim()).error : undefined;
    if (launchError) throw translateLaunchError(launchError, plan);
    if (code === 125 && stderr) throw new PodrunError('ELAUNCH', stderr.trim().replace(/^podrun-monitor: /, ''));
    if (stderr) process.stderr.write(stderr);
    // podrun-monitor exits with the process's status (128 + signal when killed)
    return { pid, ...exitResult(code < 128 ? code : null, code > 128 ? code - 128 : null) };
  } finally {
    rmSync(planFile, { force: true });
    rmSync(sock, { force: true });
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}
