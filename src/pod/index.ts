/** The pod library: start a Pod manifest, inspect, exec, logs, stop, remove. */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { requireHostCgroup2Mount } from '../cgroup/mount';
import { readCgroupStats, type CgroupStats } from '../cgroup/stats';
import { PodrunError } from '../errors';
import { DEFAULT_DATA_ROOT } from '../image/store';
import { attachContainer, DEFAULT_STATE_ROOT, execInContainer, execWithTerminal, readRecord, readRestarts, type ExecResult } from '../oci/lifecycle';
import { containerStatus } from '../oci/lifecycle/container-status';
import { containerDir } from '../oci/lifecycle/state-store';
import { startExecSession, type ExecSession } from '../oci/lifecycle/exec-session';
import { streamLog, type LogOptions, type LogWriter } from './logs';
import { parsePodManifest, parsePodManifests } from './manifest';
import { jobPod, type Workload } from './workloads';
import type { PodObjects } from './pod-objects';
import type { PodManifest } from './manifest-schema';
import { podLogRotation, removePod, startPod, stopPod, type PodOptions } from './pod-lifecycle';
import { podStatus, type PodStatusReport } from './pod-status';
import { checkNetwork, PASTA_NETWORK, pastaPidFile } from '../network';
import { pastaPid } from '../network/pasta';
import { diffStatus, type PodEvent } from './pod-events';
import { collectGarbage, type GcReport } from './pod-gc';
import { defaultContainer } from './default-container';
import { ChangeFeed } from '../util/change-feed';
import { findPod, findPodIdForRemoval, listPods, podCgroupOf, podDir, podOciRoot, podsDir, readPod, type PodRecord } from './pod-store';

export { parsePodManifest, type ParsedPod } from './manifest';
export { containerConfig, grantPrivileged, ALL_CAPS, DEFAULT_CAPS, type ContainerContext, type SandboxNamespaces } from './container-spec';
export type { PodManifest, PodRecord, PodStatusReport, PodOptions, GcReport, ExecResult, PodEvent, ExecSession };
export { diffStatus, podLogRotation };

function opts(o: Partial<PodOptions>): PodOptions {
  return { ...o, root: o.root ?? DEFAULT_STATE_ROOT, dataRoot: o.dataRoot ?? DEFAULT_DATA_ROOT };
}

/** Start a pod from a file (YAML or JSON: the Pod, and the ConfigMaps and
 * Secrets it uses as further documents or List items; `-`: standard input) or from objects. */
export async function startPodFrom(source: PodManifest | string, o: Partial<PodOptions> & { objects?: Array<Record<string, unknown>> } = {}): Promise<PodRecord> {
  const { text, name } = manifestText(source, o.objects);
  const parsed = parsePodManifest(text, name, { validate: o.validate });
  for (const w of parsed.warnings) o.onWarning?.(w);
  return startPod(parsed.pod, opts(o), parsed.objects);
}

/** Start a pod from YAML (or JSON) text: the Pod, and the ConfigMaps and Secrets it uses as further documents. */
export async function startPodFromText(text: string, o: Partial<PodOptions> = {}): Promise<PodRecord> {
  const parsed = parsePodManifest(text, 'manifest', { validate: o.validate });
  for (const w of parsed.warnings) o.onWarning?.(w);
  return startPod(parsed.pod, opts(o), parsed.objects);
}

/** What startPodsFrom did with each Pod of the file (or each Job). */
export interface StartedPod {
  name: string;
  pod?: PodRecord;
  error?: unknown;
  /** a Job run to its end: its pods, how many succeeded and failed, and why it failed */
  job?: JobResult;
}

export interface JobResult {
  pods: string[];
  succeeded: number;
  failed: number;
  /** BackoffLimitExceeded when it failed */
  reason?: string;
}

/** Every Pod of a file (or `-`), as `kubectl apply -f` takes several, and the pods of its workloads: all are
 * checked before the first starts; one failing to start does not stop the others. A Job runs to its end here. */
export async function startPodsFrom(source: string, o: Partial<PodOptions> = {}): Promise<StartedPod[]> {
  const { text, name } = manifestText(source);
  const parsed = parsePodManifests(text, name, { validate: o.validate });
  const out: StartedPod[] = [];
  for (const p of parsed) {
    for (const w of p.warnings) o.onWarning?.(w);
    if (p.job) {
      out.push(await runJob(p.job, p.objects, o));
      continue;
    }
    try {
      out.push({ name: p.pod.metadata.name, pod: await startPod(p.pod, opts(o), p.objects) });
    } catch (error) {
      out.push({ name: p.pod.metadata.name, error });
    }
  }
  return out;
}

/** A Job as its controller runs it: up to parallelism pods at a time until completions have succeeded, a new pod
 * for each failed one after a back-off (10 s doubling, or restartBackoffMs), giving up after backoffLimit failures
 * (the pods still running are removed then, as the controller deletes them). */
export async function runJob(job: Workload, objects: PodObjects, o: Partial<PodOptions> = {}): Promise<StartedPod> {
  const { completions, parallelism, backoffLimit } = job.job!;
  const { root } = opts(o);
  const result: JobResult = { pods: [], succeeded: 0, failed: 0 };
  const running = new Set<string>();
  let backoff = o.restartBackoffMs ?? 10_000;
  let nextStart = 0;
  try {
    for (;;) {
      // OnFailure pods restart in place: their restarts count as failures, as the Job controller counts them
      let restarts = 0;
      for (const id of [...running]) {
        const rec = readPod(root, id);
        const st = rec && podStatus(root, rec);
        restarts += st ? st.containerStatuses.reduce((n, c) => n + c.restartCount, 0) : 0;
        if (st?.phase === 'Succeeded') result.succeeded++;
        else if (!st || st.phase === 'Failed') {
          result.failed++;
          nextStart = Date.now() + backoff;
          backoff = Math.min(backoff * 2, 360_000);
        } else continue;
        running.delete(id);
      }
      if (result.failed + restarts > backoffLimit) {
        result.reason = 'BackoffLimitExceeded';
        break;
      }
      if (result.succeeded >= completions) break;
      while (running.size < Math.min(parallelism, completions - result.succeeded) && Date.now() >= nextStart) {
        const pod = jobPod(job) as unknown as PodManifest;
        const rec = await startPod(pod, opts(o), objects);
        result.pods.push(pod.metadata.name);
        running.add(rec.id);
      }
      await sleep(100);
    }
  } catch (error) {
    return { name: job.name, job: result, error };
  } finally {
    for (const id of running) await removePod(root, id, { force: true, dataRoot: opts(o).dataRoot }).catch(() => undefined);
  }
  return { name: job.name, job: result };
}

function manifestText(source: PodManifest | string, objects?: Array<Record<string, unknown>>): { text: string; name: string } {
  if (typeof source !== 'string') return { text: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [source, ...(objects ?? [])] }), name: 'manifest' };
  if (source === '-') return { text: fs.readFileSync(0, 'utf8'), name: 'stdin' };
  try {
    return { text: fs.readFileSync(source, 'utf8'), name: source };
  } catch (e) {
    throw new PodrunError('ENOTFOUND', `${source}: ${(e as Error).message}`);
  }
}

export interface PodSummary {
  id: string;
  name: string;
  namespace: string;
  created: string;
  /** the CNI network it is attached to */
  network?: string;
  status: PodStatusReport;
}

export function pods(o: Partial<PodOptions> = {}): PodSummary[] {
  const { root } = opts(o);
  return listPods(root).map((p) => ({ id: p.id, name: p.name, namespace: p.namespace, created: p.created, network: p.network?.name, status: podStatus(root, p) }));
}

export function inspectPod(query: string, o: Partial<PodOptions> = {}): PodSummary & { manifest: PodManifest } {
  const { root } = opts(o);
  const p = findPod(root, query);
  return { id: p.id, name: p.name, namespace: p.namespace, created: p.created, network: p.network?.name, status: podStatus(root, p), manifest: p.manifest };
}

/** what logs, exec and attach take besides the pod's options */
export interface ContainerChoice {
  /** told which container was chosen when none was named and the pod has several (kubectl's "Defaulted container …") */
  onNotice?: (message: string) => void;
}

function containerOf(p: PodRecord, named: string | undefined, o: ContainerChoice): PodRecord['containers'][number] {
  let name = named;
  if (!name) {
    const d = defaultContainer(p.manifest);
    if (d.notice) o.onNotice?.(d.notice);
    name = d.name;
  }
  const c = p.containers.find((x) => x.name === name);
  if (!c) throw new PodrunError('ENOTFOUND', `pod ${p.name} has no container ${name} (${p.containers.map((x) => x.name).join(', ')})`);
  return c;
}

/** A container's output: its current run (as kubectl logs), or with
 * `previous` the run before its last restart. */
export async function podLogs(query: string, container: string | undefined, write: LogWriter, o: Partial<PodOptions> & LogOptions & ContainerChoice & { previous?: boolean } = {}): Promise<void> {
  const { root } = opts(o);
  const p = findPod(root, query);
  const c = containerOf(p, container, o);
  const ociRoot = podOciRoot(root, p.id);
  const exited = (): boolean => {
    const r = readRecord(ociRoot, c.ociId);
    return !r || containerStatus(ociRoot, r).status === 'stopped';
  };
  const runs = readRestarts(ociRoot, c.ociId);
  if (o.previous) {
    if (runs.count === 0) throw new PodrunError('ENOTFOUND', `previous terminated container ${c.name} in pod ${p.name} not found (it has not restarted)`);
    return streamLog(c.log, write, { ...o, follow: false, from: runs.logPrevStart, to: runs.logStart });
  }
  await streamLog(c.log, write, { ...o, done: exited, from: runs.logStart });
}

/** Run a command in a pod's container, as `kubectl exec`: its stdout and
 * stderr are ours; stdin is ours only with `stdin` (else /dev/null); `tty`
 * gives it a pty connected to our terminal (raw mode, window size). */
export async function execInPod(query: string, container: string | undefined, args: string[], o: Partial<PodOptions> & ContainerChoice & { tty?: boolean; stdin?: boolean } = {}): Promise<ExecResult> {
  const { root } = opts(o);
  const p = findPod(root, query);
  const c = containerOf(p, container, o);
  const ociRoot = podOciRoot(root, p.id);
  // a terminal says what it is, as docker and podman exec -t say (kept where the container sets TERM itself)
  if (o.tty) return execWithTerminal(c.ociId, { root: ociRoot, args, stdin: o.stdin, env: ['TERM=xterm'], envDefaults: true });
  const devNull = o.stdin ? undefined : fs.openSync('/dev/null', 'r');
  try {
    return await execInContainer(c.ociId, { root: ociRoot, args, stdinFd: devNull });
  } finally {
    if (devNull !== undefined) fs.closeSync(devNull);
  }
}

/** What a command run by execCapture printed, and how it ended. */
export interface ExecOutput {
  /** its exit status (128 + the signal's number when one ended it) */
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** it ran out of timeoutMs and was killed */
  timedOut: boolean;
}

/** What an exec runs with besides its arguments: the container's process otherwise. */
export interface ExecProcessOptions {
  container?: string;
  /** variables added to (or replacing) the container's */
  env?: Record<string, string>;
  /** working directory (default: the container's) */
  cwd?: string;
  /** uid (and gid) to run as (default: the container's user) */
  user?: { uid: number; gid: number };
}

function execOptions(o: ExecProcessOptions): { env?: string[]; cwd?: string; user?: { uid: number; gid: number } } {
  return {
    ...(o.env ? { env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`) } : {}),
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(o.user ? { user: o.user } : {}),
  };
}

/** Start a command in a pod's container and hand over its streams (`stdin` only when asked; with `tty` one
 * terminal stream and `resize`): the streaming variant of execCapture. */
export function execStream(query: string, args: string[], o: Partial<PodOptions> & ContainerChoice & ExecProcessOptions & { stdin?: boolean; tty?: boolean } = {}): ExecSession {
  const { root } = opts(o);
  const p = findPod(root, query);
  const c = containerOf(p, o.container, o);
  return startExecSession(c.ociId, { root: podOciRoot(root, p.id), args, stdin: o.stdin, tty: o.tty, ...execOptions(o) });
}

/** Run a command in a pod's container and collect what it printed (testcontainers' `exec`): stdout and stderr
 * apart, `stdin` written to it (else it reads /dev/null), killed after `timeoutMs`. */
export async function execCapture(query: string, args: string[], o: Partial<PodOptions> & ContainerChoice & ExecProcessOptions & { stdin?: string | Buffer | NodeJS.ReadableStream; timeoutMs?: number } = {}): Promise<ExecOutput> {
  const session = execStream(query, args, { ...o, stdin: o.stdin !== undefined, tty: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  session.stdout.on('data', (b: Buffer) => out.push(b));
  session.stderr?.on('data', (b: Buffer) => err.push(b));
  const drained = Promise.all([session.stdout, session.stderr].map((s) => s && new Promise((r) => s.once('close', r))));
  if (session.stdin) {
    session.stdin.on('error', () => undefined); // a command that exits without reading
    const input = o.stdin!;
    if (typeof input === 'string' || Buffer.isBuffer(input)) session.stdin.end(input);
    else input.pipe(session.stdin);
  }
  let timedOut = false;
  const timer = o.timeoutMs !== undefined ? setTimeout(() => {
    timedOut = true;
    session.kill('SIGKILL');
  }, o.timeoutMs) : undefined;
  try {
    const r = await session.result;
    await drained;
    return { exitCode: r.status ?? 137, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** `kubectl attach`: the container's live output (stdout and stderr, or its
 * terminal) on ours and, with `stdin`, our input to its stdin (which needs
 * `stdin: true` in its spec). Resolves when the container ends, or our input
 * does (with `stdinOnce` its stdin closes then). */
export async function attachToPod(query: string, container: string | undefined, o: Partial<PodOptions> & ContainerChoice & { stdin?: boolean } = {}): Promise<void> {
  const { root } = opts(o);
  const p = findPod(root, query);
  const c = containerOf(p, container, o);
  const spec = [...p.manifest.spec.containers, ...(p.manifest.spec.initContainers ?? [])].find((x) => x.name === c.name);
  if (o.stdin && !spec?.stdin) throw new PodrunError('EINVALID_CONFIG', `container ${c.name} does not take stdin (its spec has no stdin: true)`, { field: 'stdin' });
  await attachContainer(podOciRoot(root, p.id), c.ociId, { stdin: o.stdin, raw: !!(o.stdin && spec?.tty) });
}

export async function stopPodByName(query: string, o: Partial<PodOptions> & { time?: number } = {}): Promise<PodRecord> {
  const { root } = opts(o);
  const p = findPod(root, query);
  await stopPod(root, p, o.time);
  return p;
}

/** Remove a pod by name or id (also the record-less debris of a crashed start, by id). */
export async function removePodByName(query: string, o: Partial<PodOptions> & { force?: boolean } = {}): Promise<{ id: string; name?: string }> {
  const { root, dataRoot, onWarning } = opts(o);
  const id = findPodIdForRemoval(root, query);
  const name = readPod(root, id)?.name;
  await removePod(root, id, { force: o.force, dataRoot, onWarning });
  return { id, name };
}

/** Clean what crashed starts left: interrupted pods, record-less pod dirs, orphaned data dirs and cgroups. */
export function gcPods(o: Partial<PodOptions> = {}): Promise<GcReport> {
  const { root, dataRoot } = opts(o);
  return collectGarbage(root, dataRoot);
}

/** Until the pod has finished (Succeeded or Failed, no restart pending); its summary then. */
export async function waitPod(query: string, o: Partial<PodOptions> & { timeoutMs?: number; signal?: AbortSignal; intervalMs?: number } = {}): Promise<ReturnType<typeof inspectPod>> {
  const deadline = Date.now() + (o.timeoutMs ?? Infinity);
  for (;;) {
    const p = inspectPod(query, o);
    if (p.status.phase === 'Succeeded' || p.status.phase === 'Failed') return p;
    if (o.signal?.aborted) throw new PodrunError('EINTERNAL', `waiting for pod ${query}: aborted`);
    if (Date.now() > deadline) throw new PodrunError('EINTERNAL', `pod ${query} did not finish within ${o.timeoutMs} ms (phase ${p.status.phase})`);
    await sleep(o.intervalMs ?? 100);
  }
}

/** Report each change of a pod's status (phase, container starts, exits, back-offs, readiness, probe failures) as
 * it happens, until it has finished and nothing in it runs (with `untilRemoved`: until it is removed), it is
 * removed, or `signal` aborts. It begins with the current state as events, and ends with `Removed` when the pod
 * was removed (containers still running when it went are reported terminated first, reason `Removed`).
 * Driven by the files the pod's monitor and prober write (inotify), with a look every `intervalMs` (default 1 s)
 * for what writes none. */
export async function watchPod(query: string, onEvent: (e: PodEvent & { time: string }) => void, o: Partial<PodOptions> & { signal?: AbortSignal; intervalMs?: number; untilRemoved?: boolean } = {}): Promise<void> {
  const { root } = opts(o);
  const id = findPod(root, query).id;
  const emit = (e: PodEvent): void => onEvent({ ...e, time: new Date().toISOString() });
  const changes = new ChangeFeed(o.signal);
  let prev: PodStatusReport | undefined;
  const reportedEnded = new Set<string>();
  try {
    while (!o.signal?.aborted) {
      // the pod list (its removal), the pod (record, probes.json) and each container's directory (pid, exit, restarts)
      changes.watch(podsDir(root), (name) => name === id);
      changes.watch(podDir(root, id));
      const rec = readPod(root, id);
      for (const c of rec?.containers ?? []) changes.watch(containerDir(podOciRoot(root, id), c.ociId));
      if (!rec || rec.removing) {
        // being removed: only each running container's end (its real exit while its record lasts), then Removed
        const now = rec ? podStatus(root, rec) : undefined;
        const current = new Map([...(now?.initContainerStatuses ?? []), ...(now?.containerStatuses ?? [])].map((c) => [c.name, c]));
        for (const c of [...(prev?.initContainerStatuses ?? []), ...(prev?.containerStatuses ?? [])]) {
          if (!('running' in c.state) || reportedEnded.has(c.name)) continue;
          const cur = current.get(c.name);
          if (cur && 'running' in cur.state) continue;
          const ended = cur && 'terminated' in cur.state ? cur.state.terminated : { exitCode: 137, reason: 'Removed' };
          emit({ type: 'ContainerTerminated', container: c.name, exitCode: ended.exitCode, reason: ended.reason });
          reportedEnded.add(c.name);
        }
        if (!rec) {
          emit({ type: 'Removed' });
          return;
        }
        await changes.next(o.intervalMs ?? 1000);
        continue;
      }
      const now = podStatus(root, rec);
      for (const e of diffStatus(prev, now)) emit(e);
      prev = now;
      // finished, and nothing runs any more (a pod failed by its deadline is still being stopped for a moment)
      if (!o.untilRemoved && (now.phase === 'Succeeded' || now.phase === 'Failed') && !now.containerStatuses.some((c) => 'running' in c.state)) return;
      await changes.next(o.intervalMs ?? 1000);
    }
  } finally {
    changes.close();
  }
}

/** The file of the pod's network namespace (to enter it: setns), or null when the pod uses the host's. */
export function podNetworkNamespace(query: string, o: Partial<PodOptions> = {}): string | null {
  const { root } = opts(o);
  const p = findPod(root, query);
  if (p.manifest.spec.hostNetwork) return null;
  const ns = p.sandbox?.namespaces.network;
  if (!ns) throw new PodrunError('ENOTFOUND', `pod ${p.name} has no network namespace yet`);
  return ns;
}

/** CNI CHECK of a pod's network attachment: throws what a plugin found wrong. */
export async function checkPodNetwork(query: string, o: Partial<PodOptions> = {}): Promise<{ network: string; podIPs: string[] }> {
  const { root, dataRoot } = opts(o);
  const p = findPod(root, query);
  if (!p.network) throw new PodrunError('ENOTFOUND', `pod ${p.name} is not attached to a CNI network`);
  if (p.network.name === PASTA_NETWORK) {
    // no CNI CHECK for pasta: what there is to check is that its process still serves the pod
    if (pastaPid(pastaPidFile(p.dataDir)) === undefined) throw new PodrunError('EHOST', `pod ${p.name}: its pasta process is gone (its hostPorts are not forwarded)`);
    return { network: p.network.name, podIPs: p.podIPs ?? [] };
  }
  await checkNetwork(dataRoot, { network: { name: p.network.name }, containerId: p.id, ifName: p.network.ifName });
  return { network: p.network.name, podIPs: p.podIPs ?? [] };
}

export interface PodStats {
  name: string;
  id: string;
  /** the pod cgroup (all its containers) */
  pod: CgroupStats;
  containers: Array<{ name: string; stats: CgroupStats }>;
}

/** cgroup statistics of pods (all, or those named): the pod cgroup and each container's. */
export function podStats(queries: string[], o: Partial<PodOptions> = {}): PodStats[] {
  const { root } = opts(o);
  const list = queries.length ? queries.map((q) => findPod(root, q)) : listPods(root);
  const cg2 = requireHostCgroup2Mount();
  return list.map((p) => {
    const cgroup = podCgroupOf(p);
    // a pod without a cgroup (rootless, none delegated) has no figures: every controller unavailable
    const dir = (...parts: string[]): string => (cgroup === null ? '' : path.join(cg2, cgroup, ...parts));
    return {
      name: p.name,
      id: p.id,
      pod: readCgroupStats(dir()),
      containers: p.containers.filter((c) => !c.init).map((c) => ({ name: c.name, stats: readCgroupStats(dir(`ctr-${c.name}`)) })),
    };
  });
}
