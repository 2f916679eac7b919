/** Wait strategies, as testcontainers has them: until a pod is ready, logged a line, listens on a port, answers
 * HTTP, or a command succeeds. `waitUntil` runs one with a deadline, and fails early, with the pod's last log
 * lines, when the pod ends or a container crashes meanwhile. */
import http from 'node:http';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodrunError } from '../errors';
import type { PodStatusReport } from '../pod';
import { lineSplitter } from './lines';

/** What a strategy may ask of the pod it waits for (a Pod handle is one). */
export interface WaitTarget {
  readonly name: string;
  /** the pod's status now */
  podStatus(): PodStatusReport;
  /** the ports its containers declare */
  declaredPorts(): number[];
  /** follow a container's log (the first app container by default) from its start, text as it comes, until signal */
  followLog(container: string | undefined, write: (text: string) => void, signal: AbortSignal): Promise<void>;
  /** a TCP connection to the pod's localhost:port, made inside its network namespace */
  connect(port: number): Promise<net.Socket>;
  run(command: string[], o: { container?: string; timeoutMs?: number }): Promise<{ exitCode: number }>;
  /** the last lines each container logged, for errors */
  lastLogLines(lines: number): Promise<string>;
}

export interface WaitStrategy {
  /** what it waits for, in words (errors say it) */
  readonly description: string;
  /** resolves once met; gives up when signal aborts */
  waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void>;
}

const RETRY_MS = 50;

/** retry `attempt` until it returns true or signal aborts */
async function poll(signal: AbortSignal, attempt: () => Promise<boolean>): Promise<void> {
  while (!signal.aborted) {
    if (await attempt().catch(() => false)) return;
    await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
  }
}

export interface HttpWaitOptions {
  /** an expected status, or a test of it (default: 200) */
  status?: number | ((status: number) => boolean);
  method?: string;
  headers?: Record<string, string>;
  /** the response body must contain this string or match this RegExp */
  body?: string | RegExp;
}

export const Wait = {
  /** every container Ready (their readiness probes passed; running, without probes), as kubectl wait
   * --for=condition=Ready */
  forReady(): WaitStrategy {
    return {
      description: 'the pod to be Ready',
      waitUntilReady: (t, signal) => poll(signal, async () => t.podStatus().conditions.some((c) => c.type === 'Ready' && c.status === 'True')),
    };
  },

  /** a line of a container's log containing `match` (or matching it), `times` times counted from the container's start */
  forLogMessage(match: string | RegExp, o: { times?: number; container?: string } = {}): WaitStrategy {
    const times = o.times ?? 1;
    const what = typeof match === 'string' ? JSON.stringify(match) : String(match);
    return {
      description: `a log line ${what}${times > 1 ? ` ${times} times` : ''}${o.container ? ` from container ${o.container}` : ''}`,
      async waitUntilReady(t, signal) {
        const found = new AbortController();
        const stop = AbortSignal.any([signal, found.signal]);
        while (!stop.aborted) {
          let seen = 0;
          const lines = lineSplitter((line) => {
            if (typeof match === 'string' ? line.includes(match) : match.test(line)) seen++;
            if (seen >= times) found.abort();
          });
          await t.followLog(o.container, (text) => lines.write(text), stop).catch(() => undefined);
          // a container that has not started yet (or restarted) has no log to follow: look again
          if (!stop.aborted) await sleep(RETRY_MS, undefined, { signal: stop }).catch(() => undefined);
        }
      },
    };
  },

  /** a TCP connection to the port (or to every port the containers declare) succeeds from inside the pod */
  forListeningPort(port?: number): WaitStrategy {
    return {
      description: port === undefined ? 'the declared ports to listen' : `port ${port} to listen`,
      async waitUntilReady(t, signal) {
        const ports = port === undefined ? t.declaredPorts() : [port];
        if (!ports.length) throw new PodrunError('EINVALID_CONFIG', `pod ${t.name}: Wait.forListeningPort() without a port needs containers[].ports in the pod`);
        for (const p of ports) {
          await poll(signal, async () => {
            const s = await t.connect(p);
            s.destroy();
            return true;
          });
        }
      },
    };
  },

  /** an HTTP request to localhost:port inside the pod answers as expected (default: status 200) */
  forHttp(path: string, port: number, o: HttpWaitOptions = {}): WaitStrategy {
    const expected = o.status ?? 200;
    const statusOk = typeof expected === 'number' ? (s: number) => s === expected : expected;
    return {
      description: `HTTP ${o.method ?? 'GET'} ${path} on port ${port} to answer${typeof expected === 'number' ? ` ${expected}` : ''}${o.body !== undefined ? ` with ${typeof o.body === 'string' ? JSON.stringify(o.body) : String(o.body)}` : ''}`,
      waitUntilReady: (t, signal) => poll(signal, async () => {
        const socket = await t.connect(port);
        const res = await httpOver(socket, { path, method: o.method ?? 'GET', headers: { host: `localhost:${port}`, ...o.headers } }, signal);
        if (!statusOk(res.status)) return false;
        if (o.body === undefined) return true;
        return typeof o.body === 'string' ? res.body.includes(o.body) : o.body.test(res.body);
      }),
    };
  },

  /** the command exits 0 in the container (retried until it does) */
  forSuccessfulCommand(command: string[], o: { container?: string } = {}): WaitStrategy {
    return {
      description: `${JSON.stringify(command)} to succeed`,
      waitUntilReady: (t, signal) => poll(signal, async () => (await t.run(command, { container: o.container, timeoutMs: 10_000 })).exitCode === 0),
    };
  },

  /** every one of them, one after the other */
  forAll(strategies: WaitStrategy[]): WaitStrategy {
    return {
      description: strategies.map((s) => s.description).join(', then '),
      async waitUntilReady(t, signal) {
        for (const s of strategies) {
          if (signal.aborted) return;
          await s.waitUntilReady(t, signal);
        }
      },
    };
  },
};

/** one request over a connected socket; the body as text */
function httpOver(socket: net.Socket, o: { path: string; method: string; headers: Record<string, string> }, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ createConnection: () => socket, path: o.path, method: o.method, headers: o.headers, signal, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 1 << 20) body += d;
      });
      res.on('end', () => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (e) => {
      socket.destroy();
      reject(e);
    });
    req.end();
  });
}

/** Why waiting is pointless: the pod has ended, or a container crashed (waiting to restart), else undefined. */
export function podGaveUp(st: PodStatusReport): string | undefined {
  if (st.phase === 'Failed' || st.phase === 'Succeeded') return `the pod ${st.phase === 'Failed' ? 'failed' : 'has completed'}${st.message ? `: ${st.message}` : ''}`;
  for (const c of [...st.initContainerStatuses, ...st.containerStatuses]) {
    if ('waiting' in c.state && c.state.waiting.reason === 'CrashLoopBackOff') {
      const last = c.lastState?.terminated;
      return `container ${c.name} crashed${last ? ` (exit code ${last.exitCode}, ${last.reason})` : ''} and waits to restart`;
    }
  }
  return undefined;
}

/** Run the strategy against the pod for at most timeoutMs: ETIMEOUT when it ran out, EEXITED when the pod ended or a
 * container crashed first, both with the last lines the containers logged. */
export async function waitUntil(t: WaitTarget, strategy: WaitStrategy, timeoutMs: number): Promise<void> {
  const ac = new AbortController();
  let gaveUp: string | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const watch = (async () => {
    while (!ac.signal.aborted) {
      try {
        gaveUp = podGaveUp(t.podStatus());
      } catch (e) {
        gaveUp = (e as PodrunError).code === 'ENOTFOUND' ? 'the pod was removed' : undefined;
      }
      if (gaveUp) return ac.abort();
      await sleep(100, undefined, { signal: ac.signal }).catch(() => undefined);
    }
  })();
  try {
    await strategy.waitUntilReady(t, ac.signal);
    if (!ac.signal.aborted) return;
  } finally {
    clearTimeout(timer);
    ac.abort();
    await watch;
  }
  const logs = await t.lastLogLines(10).catch(() => '');
  const tail = logs ? `\nlast log lines:\n${logs}` : '';
  if (gaveUp) throw new PodrunError('EEXITED', `pod ${t.name}: waiting for ${strategy.description}: ${gaveUp}${tail}`);
  if (timedOut) throw new PodrunError('ETIMEOUT', `pod ${t.name}: ${strategy.description} did not happen within ${timeoutMs} ms${tail}`);
  throw new PodrunError('EINTERNAL', `pod ${t.name}: waiting for ${strategy.description}: aborted`);
}
