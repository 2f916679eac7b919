/** OCI hooks: run with the container state on stdin, a timeout, and the
 * spec's failure rules (the caller decides whether a failure is fatal).
 * createContainer and startContainer hooks run in the container's
 * namespaces, entered with util-linux nsenter. */
import { spawnSync } from 'node:child_process';
import { PodrunError } from '../errors';
import type { OciConfig } from './spec-schema';

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
export type OciHooks = NonNullable<OciConfig['hooks']>;

export interface HookState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

const IN_CONTAINER: ReadonlySet<HookKind> = new Set(['createContainer', 'startContainer']);

export function hasHooks(hooks: OciHooks | undefined, ...kinds: HookKind[]): boolean {
  return kinds.some((k) => (hooks?.[k]?.length ?? 0) > 0);
}

function envObject(env: string[] | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const kv of env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Run every hook of one kind in order; throw on the first failure. */
export function runHooks(kind: HookKind, hooks: OciHooks | undefined, state: HookState): void {
  (hooks?.[kind] ?? []).forEach((h, i) => runHook(kind, h, i, state));
}

function runHook(kind: HookKind, h: NonNullable<OciHooks[HookKind]>[number], i: number, state: HookState): void {
  const field = `hooks.${kind}[${i}]`;
  const args = h.args?.length ? h.args.slice(1) : [];
  const inContainer = IN_CONTAINER.has(kind) && state.pid;
  const [cmd, argv] = inContainer
    ? ['nsenter', ['--target', String(state.pid), '--all', '--root', '--wd', '--', h.path, ...args]]
    : [h.path, args];
  const r = spawnSync(cmd, argv, {
    input: JSON.stringify(state),
    env: envObject(h.env),
    argv0: inContainer ? undefined : h.args?.[0],
    timeout: h.timeout ? h.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
  });
  let why: string | undefined;
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  // EPIPE: the hook exited without reading the state; its exit status decides
  if (r.error && code !== 'EPIPE') why = code === 'ETIMEDOUT' ? `timed out after ${h.timeout} s` : r.error.message;
  else if (r.signal) why = `killed by ${r.signal}`;
  else if (r.status !== 0) why = `exited with ${r.status}`;
  if (why) {
    const err = r.stderr?.trim().split('\n').pop();
    throw new PodrunError('ELAUNCH', `${field} ${h.path}: ${why}${err ? `: ${err}` : ''}`, { field, step: 'hook' });
  }
}

/** Hooks whose failure is only reported (poststart, poststop). */
export function runHooksLenient(kind: HookKind, hooks: OciHooks | undefined, state: HookState, warn: (m: string) => void): void {
  // runtime-spec: a failing poststart/poststop hook is a warning, "and the remaining hooks ... are executed"
  (hooks?.[kind] ?? []).forEach((h, i) => {
    try {
      runHook(kind, h, i, state);
    } catch (e) {
      warn((e as Error).message);
    }
  });
}
