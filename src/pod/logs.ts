/** Reading a container's CRI-format log (`<RFC3339Nano> <stream> <F|P> <text>`,
 * written and rotated by podrun-monitor): whole lines, optionally
 * timestamped, following it as it grows and rotates — in bounded chunks, so a
 * reader's memory does not grow with the log. */
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { snapshotLogFiles } from '../oci/lifecycle/container-log';
import { ChangeFeed } from '../util/change-feed';

export interface LogOptions {
  timestamps?: boolean;
  follow?: boolean;
  /** stop following when this returns true (e.g. the container exited) */
  done?: () => boolean;
  signal?: AbortSignal;
  /** logical byte range (counted across rotated files): a restarted container's runs share one log */
  from?: number;
  to?: number;
  /** only the last N lines of what is there now (then, following, everything new): kubectl logs --tail */
  tail?: number;
  /** only lines logged at or after this time (ms since the epoch): --since / --since-time */
  sinceMs?: number;
  /** stop after this many bytes of output: --limit-bytes */
  limitBytes?: number;
}

/** CRI log text → what the container wrote (P parts joined), timestamps optional. Pure. */
export function formatCriLog(text: string, timestamps = false, sinceMs?: number): { out: string; rest: string } {
  let out = '';
  let partial = '';
  let partialTs = '';
  const lines = text.split('\n');
  const rest = lines.pop() ?? ''; // an incomplete last line waits for more
  for (const line of lines) {
    const m = /^(\S+) (stdout|stderr) ([FP]) ?([^\n]*)$/.exec(line); // not `.`: a tty's lines end in \r
    if (!m) continue;
    const [, ts, , tag, body] = m;
    if (tag === 'P') {
      if (!partial) partialTs = ts;
      partial += body;
      continue;
    }
    const at = partialTs || ts;
    if (sinceMs === undefined || Date.parse(at) >= sinceMs) out += `${timestamps ? `${at} ` : ''}${partial}${body}\n`;
    partial = '';
    partialTs = '';
  }
  return { out, rest };
}

const CHUNK = 64 * 1024;

/** What was written; may return a promise to make the reader wait (a full pipe). */
export type LogWriter = (s: string) => void | boolean | Promise<void>;

export async function streamLog(file: string, sink: LogWriter, o: LogOptions = {}): Promise<void> {
  let pos = o.from ?? 0;
  // --limit-bytes: what is written stops at the limit (mid-line, as kubectl's)
  let left = o.limitBytes ?? Infinity;
  const limited: LogWriter = (text) => {
    if (left <= 0) return;
    const bytes = Buffer.from(text, 'utf8');
    const part = bytes.length <= left ? text : bytes.subarray(0, left).toString('utf8');
    left -= Math.min(bytes.length, left);
    return sink(part);
  };
  // --tail: the last N lines of the first read are held back, then written
  let held: string[] | undefined = o.tail !== undefined ? [] : undefined;
  const write: LogWriter = (text) => {
    if (!held) return limited(text);
    for (const line of text.split(/(?<=\n)/)) {
      held.push(line);
      if (held.length > o.tail!) held.shift();
    }
  };
  const end = o.to ?? Infinity;
  let carry = '';
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(CHUNK);
  const emit = async (text: string): Promise<void> => {
    const { out, rest } = formatCriLog(carry + text, o.timestamps, o.sinceMs);
    carry = rest;
    if (out) await write(out);
  };
  /** everything from pos to the end of what is there now (or to `to`) */
  const readMore = async (): Promise<void> => {
    const files = snapshotLogFiles(file);
    try {
      for (const f of files) {
        if (f.base + f.size <= pos) continue;
        if (f.base > pos) pos = f.base; // rotated away before we read it (kubelet's readers lose it too)
        let fd = f.fd;
        try {
          fd ??= fs.openSync(f.path, 'r');
        } catch {
          continue; // removed since the snapshot: older than what is kept
        }
        try {
          const size = f.fd === undefined ? f.size : fs.fstatSync(fd).size; // the current file grows
          while (pos < Math.min(f.base + size, end)) {
            const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, f.base + size - pos, end - pos), pos - f.base);
            if (n <= 0) break;
            pos += n;
            await emit(decoder.write(buf.subarray(0, n)));
          }
        } finally {
          if (f.fd === undefined) fs.closeSync(fd);
        }
        if (pos >= end) break;
      }
    } finally {
      const current = files[files.length - 1];
      if (current?.fd !== undefined) fs.closeSync(current.fd);
    }
  };
  await readMore();
  if (held) {
    const lines = held;
    held = undefined;
    if (lines.length) await limited(lines.join(''));
  }
  if (!o.follow) return;
  // woken by the monitor's writes (inotify on the log's directory: rotations too), looking every 100 ms regardless
  // for `done` (the container's exit writes elsewhere)
  const changes = new ChangeFeed(o.signal);
  changes.watch(path.dirname(file));
  try {
    while (!o.signal?.aborted && pos < end && left > 0) {
      if (o.done?.()) {
        await readMore();
        break;
      }
      await changes.next(100);
      await readMore();
    }
  } finally {
    changes.close();
  }
}
