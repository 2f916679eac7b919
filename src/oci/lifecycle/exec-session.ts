/** An exec whose input and output are streams of ours (CRI Exec through the
 * streaming server): podrun-monitor runs the plan in the foreground and the
 * process's stdio are pipes to us — without a terminal, fds 3/4/5 of the
 * monitor (so the monitor's own stderr stays apart for launch errors);
 * with one, the pty is relayed over the monitor's stdin/stdout and "ROWS
 * COLS" lines on its fd 3 resize it. */
import { spawnChild } from '../../native/spawn';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { constants as osConstants } from 'node:os';
import { PodrunError } from '../../errors';
import { monitorPath } from '../../native';
import { translateLaunchError } from '../launch-error';
import { encodePlan } from '../plan-encode';
import { exitResult } from '../signals';
import { execPlan, type ExecOptions, type ExecResult } from './exec';
import { parseReply } from './monitor-client';

export interface ExecSession {
  /** the process's stdin (absent unless asked) */
  stdin?: Writable;
  /** its stdout (with a tty: the terminal's output) */
  stdout: Readable;
  /** its stderr (absent with a tty) */
  stderr?: Readable;
  /** with a tty: resize(rows, cols) */
  resize?: (rows: number, cols: number) => void;
  kill(signal?: NodeJS.Signals): void;
  /** its exit; rejects when it could not be launched (the error names the step) */
  result: Promise<ExecResult>;
}

function childrenOf(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function startExecSession(id: string, o: ExecOptions & { tty?: boolean; stdin?: boolean }): ExecSession {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'podrun-exec-'));
  const planFile = path.join(dir, 'plan');
  const sock = path.join(dir, 'console.sock');
  const plan = o.tty
    ? execPlan(id, { ...o, tty: true, consoleSocket: sock, stdinFd: undefined })
    : execPlan(id, { ...o, tty: false, stdinFd: o.stdin ? 3 : undefined, stdoutFd: 4, stderrFd: 5 });
  writeFileSync(planFile, encodePlan(plan), { mode: 0o600 });
  const child = o.tty
    ? spawnChild(monitorPath(), ['run', planFile, '--terminal', sock, ...(o.stdin ? ['--stdin'] : []), '--resize-fd', '3'], { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'] })
    : spawnChild(monitorPath(), ['run', planFile], { stdio: ['ignore', 'ignore', 'pipe', o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const pipe = (n: number): Readable & Writable => child.stdio[n] as Readable & Writable;
  let monitorErr = '';
  const errStream = pipe(2);
  const result = new Promise<ExecResult>((resolve, reject) => {
    errStream.on('data', (d: Buffer) => (monitorErr += d.toString()));
    child.once('error', reject);
    child.once('close', (c, signal) => {
      rmSync(dir, { recursive: true, force: true });
      const code = c ?? 128 + (signal ? osConstants.signals[signal] : 0);
      const launchLine = monitorErr.split('\n').find((l) => l.startsWith('err\t'));
      if (launchLine) return reject(translateLaunchError(parseReply(launchLine).error!, plan));
      if (code === 125 && monitorErr) return reject(new PodrunError('ELAUNCH', monitorErr.trim().replace(/^podrun-monitor: /, '')));
      resolve({ pid: child.pid ?? 0, ...exitResult(code < 128 ? code : null, code > 128 ? code - 128 : null) });
    });
  });
  const resizePipe = o.tty ? pipe(3) : undefined;
  return {
    stdin: o.stdin ? (o.tty ? pipe(0) : pipe(3)) : undefined,
    stdout: o.tty ? pipe(1) : pipe(4),
    stderr: o.tty ? undefined : pipe(5),
    resize: resizePipe && ((rows, cols) => {
      if (Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) resizePipe.write(`${rows} ${cols}\n`);
    }),
    kill: (signal = 'SIGKILL') => {
      // the monitor forwards what it can catch; SIGKILL goes to the process itself (the monitor's child)
      if (signal !== 'SIGKILL') return void child.kill(signal);
      for (const pid of childrenOf(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
      }
    },
    result,
  };
}
