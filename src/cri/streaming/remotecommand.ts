/** Kubernetes' remotecommand protocol, the part every transport shares: the
 * channels of one exec or attach (stdin, stdout, stderr, resize, error), the
 * terminal sizes kubectl sends (JSON `{"Width","Height"}` lines) and the
 * status written on the error channel at the end (metav1.Status, as
 * kubelet writes it: client-go turns NonZeroExitCode into the exit code). */
import type { Readable, Writable } from 'node:stream';

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** a channel we write to */
export interface OutChannel {
  write(data: Buffer | string): void;
  end(): void;
}

/** what a transport gives a session once the client is connected */
export interface Channels {
  stdin?: Readable;
  stdout?: OutChannel;
  stderr?: OutChannel;
  /** terminal sizes, `{"Width":80,"Height":24}` lines */
  resize?: Readable;
  error: OutChannel;
  /** resolves when the client is gone (the connection closed) */
  gone: Promise<void>;
  /** close the connection after what was written */
  close(): void;
}

/** The streams a client opens for these options (client-go's v2–v4 protocols). */
export function expectedStreams(o: StreamOptions): string[] {
  const s = ['error'];
  if (o.stdin) s.push('stdin');
  if (o.stdout) s.push('stdout');
  if (o.stderr && !o.tty) s.push('stderr');
  if (o.tty) s.push('resize');
  return s;
}

export type ExitStatus = { exitCode: number } | { error: string };

/** metav1.Status for the error channel. */
export function statusJson(s: ExitStatus, command: string[]): string {
  if ('error' in s) {
    return JSON.stringify({ metadata: {}, status: 'Failure', message: s.error, reason: 'InternalError', details: { causes: [{ message: s.error }] }, code: 500 });
  }
  if (s.exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {}, status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command ${JSON.stringify(command)}, exit code ${s.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(s.exitCode) }] },
  });
}

/** Terminal sizes from a resize channel (one JSON object per line; transports that frame them add the newline). */
export function onResize(resize: Readable, apply: (rows: number, cols: number) => void): void {
  let buf = '';
  resize.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        const size = JSON.parse(line) as { Width?: number; Height?: number };
        if (size.Width && size.Height) apply(size.Height, size.Width);
      } catch {
        /* not a size: ignored, as kubelet does */
      }
    }
  });
}

/** Copy a readable into an out channel, ending it at the end; resolves then. */
export function pump(from: Readable, to: OutChannel | undefined): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (d: Buffer) => to?.write(d));
    from.once('end', () => {
      to?.end();
      resolve();
    });
    from.once('error', () => {
      to?.end();
      resolve();
    });
  });
}

/** Feed the client's stdin to a process's, ending it at the client's end. */
export function feed(from: Readable | undefined, to: Writable | undefined): void {
  if (!from || !to) return;
  to.on('error', () => undefined); // the process may exit before reading it all
  from.pipe(to);
}
