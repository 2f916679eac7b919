/** Reading a container's CRI-format log (`<RFC3339Nano> <stream> <F|P> <text>`,
 * written by podrun-monitor): whole lines, optionally timestamped, and
 * following the file as it grows. */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LogOptions {
  timestamps?: boolean;
  follow?: boolean;
  /** stop following when this returns true (e.g. the container exited) */
  done?: () => boolean;
  signal?: AbortSignal;
  /** byte range of the file: a restarted container's runs share one log */
  from?: number;
  to?: number;
}

/** CRI log text → what the container wrote (P parts joined), timestamps optional. Pure. */
export function formatCriLog(text: string, timestamps = false): { out: string; rest: string } {
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
    out += `${timestamps ? `${partialTs || ts} ` : ''}${partial}${body}\n`;
    partial = '';
    partialTs = '';
  }
  return { out, rest };
}

export async function streamLog(file: string, write: (s: string) => void, o: LogOptions = {}): Promise<void> {
  let pos = o.from ?? 0;
  let carry = '';
  const readMore = (): void => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const size = Math.min(fs.fstatSync(fd).size, o.to ?? Infinity);
      if (size <= pos) return;
      const buf = Buffer.alloc(size - pos);
      fs.readSync(fd, buf, 0, buf.length, pos);
      pos = size;
      const { out, rest } = formatCriLog(carry + buf.toString('utf8'), o.timestamps);
      carry = rest;
      if (out) write(out);
    } finally {
      fs.closeSync(fd);
    }
  };
  readMore();
  while (o.follow && !o.signal?.aborted) {
    if (o.done?.()) {
      readMore();
      break;
    }
    await sleep(100);
    readMore();
  }
}
