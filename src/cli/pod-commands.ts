/** podrun start / ps / inspect / logs / exec / stop / rm: pods. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { PodSummary } from '../pod';
import type { ImageGlobals } from './image-commands';
import { table } from './table';
import { jsonPathTemplate, kubeList, kubePod, matchesSelector, parseSelector, type PodView } from './kube-output';

export interface PodGlobals extends ImageGlobals {
  runroot?: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
}

/** 127 for a command that is not there, 126 for one that cannot be executed; undefined for other failures. */
export function execFailureStatus(e: unknown): number | undefined {
  const pe = e as { step?: string; errno?: string };
  if (pe?.step !== 'exec') return undefined;
  if (pe.errno === 'ENOENT' || pe.errno === 'ENOTDIR') return 127;
  if (pe.errno === 'EACCES' || pe.errno === 'ENOEXEC' || pe.errno === 'EPERM' || pe.errno === 'EISDIR') return 126;
  return undefined;
}

export type Runner = (fn: () => Promise<number | void>) => () => Promise<void>;
const lib = (): typeof import('../pod') => require('../pod') as typeof import('../pod');

/** Our stdout as a log reader's sink: when it is a full pipe, the reader waits
 * instead of node buffering the rest of the log in memory. */
function writeWithBackpressure(s: string): Promise<void> | void {
  if (process.stdout.write(s)) return;
  return new Promise((resolve, reject) => {
    const done = (e?: Error): void => {
      process.stdout.off('drain', done).off('error', done).off('close', done);
      if (e) reject(e);
      else resolve();
    };
    process.stdout.once('drain', done).once('error', done).once('close', done);
  });
}

function age(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function row(p: PodSummary): string[] {
  const all = [...p.status.initContainerStatuses, ...p.status.containerStatuses];
  // kubectl counts sidecars (the init containers whose status says `started`) with the app containers
  const counted = [...p.status.initContainerStatuses.filter((c) => c.started !== undefined), ...p.status.containerStatuses];
  const ready = counted.filter((c) => c.ready).length;
  return [p.name, p.id, `${ready}/${counted.length}`, p.status.phase, String(all.reduce((n, c) => n + c.restartCount, 0)), p.status.podIP ?? '-', age(p.created)];
}

/** Act on every named pod, as podman does: one failing name does not stop the others; exit 1 if any failed. */
async function eachPod(names: string[], act: (name: string) => Promise<{ name?: string; id: string }>): Promise<number> {
  let failed = 0;
  for (const n of names) {
    try {
      const p = await act(n);
      process.stdout.write(`${p.name ?? p.id}\n`);
    } catch (e) {
      process.stderr.write(`podrun: ${(e as Error).message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

const defaultContainerHelp = 'the container (default: the one the kubectl.kubernetes.io/default-container annotation names, else the first)';
/** kubectl's notice, unprefixed, on stderr */
const onNotice = (m: string): void => void process.stderr.write(`${m}\n`);

export function registerPodCommands(program: Command, run: Runner, globals: () => PodGlobals): void {
  const o = (): { root?: string; dataRoot?: string; cniConfDir?: string; cniBinDirs?: string[]; onWarning: (m: string) => void } => {
    const g = globals();
    return { root: g.runroot, dataRoot: g.dataRoot, cniConfDir: g.cniConfDir, cniBinDirs: g.cniBinDirs, onWarning: (m) => process.stderr.write(`podrun: warning: ${m}\n`) };
  };

  program
    .command('start')
    .description('start the Pods of a Kubernetes manifest (YAML or JSON, - for standard input); returns once their containers run')
    .argument('<file>')
    .option('--insecure', 'pull missing images over plain HTTP')
    .option('--network <name>', 'attach the pod to this CNI network, or to pasta: the host\'s addresses and hostPorts without root (default: loopback only)')
    .option('--restart-backoff <ms>', 'first back-off before a container is restarted (kubelet: 10000, doubling up to 5 min)')
    .option('--container-log-max-size <quantity>', "rotate each container's log at this size (kubelet's containerLogMaxSize)", '10Mi')
    .option('--container-log-max-files <n>', "log files kept per container, the current one included (kubelet's containerLogMaxFiles)", '5')
    .option('--memory-qos', "kubelet's MemoryQoS: memory.min from requests, memory.high at 90% of the way to the limit")
    .option('--wait', 'return when the pod has finished (Succeeded: exit 0, Failed: exit 1), printing its logs')
    .option('--rm', 'with --wait: remove the pod when it has finished')
    .option('--json', 'print the pod as JSON')
    .option('--validate <mode>', "unknown fields of the manifest: strict (refused), warn, ignore (kubectl's; true = strict, false = ignore)", 'strict')
    .option('--userns-base <id>', 'hostUsers: false pods get their host ids from here (default 2147483648)')
    .option('--userns-size <n>', 'host ids per hostUsers: false pod (default and least 65536)')
    .action((file: string, opt: { insecure?: boolean; json?: boolean; network?: string; restartBackoff?: string; wait?: boolean; rm?: boolean; memoryQos?: boolean; containerLogMaxSize: string; containerLogMaxFiles: string; validate: string; usernsBase?: string; usernsSize?: string }) =>
      run(async () => {
        const backoff = opt.restartBackoff === undefined ? undefined : Number(opt.restartBackoff);
        if (backoff !== undefined && !(Number.isInteger(backoff) && backoff > 0)) throw new Error(`--restart-backoff ${opt.restartBackoff}: expected a positive number of milliseconds`);
        if (opt.rm && !opt.wait) throw new Error('--rm needs --wait (a running pod is removed with podrun rm -f)');
        if (!/^\d+$/.test(opt.containerLogMaxFiles)) throw new Error(`--container-log-max-files ${opt.containerLogMaxFiles}: expected a whole number (at least 2)`);
        const maxFiles = Number(opt.containerLogMaxFiles);
        const logRotation = lib().podLogRotation({ containerLogMaxSize: opt.containerLogMaxSize, containerLogMaxFiles: maxFiles }, { maxSize: '--container-log-max-size', maxFiles: '--container-log-max-files' });
        const startOptions = {
          ...o(), validate: validationMode(opt.validate), insecure: opt.insecure, network: opt.network, restartBackoffMs: backoff, memoryQoS: opt.memoryQos,
          containerLogMaxSize: logRotation.maxSize, containerLogMaxFiles: logRotation.maxFiles,
          userNamespaces: {
            base: opt.usernsBase === undefined ? undefined : wholeNumber(opt.usernsBase, '--userns-base', 1),
            size: opt.usernsSize === undefined ? undefined : wholeNumber(opt.usernsSize, '--userns-size'),
          },
        };
        if (!opt.wait) {
          // every Pod of the file, as kubectl apply -f: one failing does not stop the others
          let failed = 0;
          for (const r of await lib().startPodsFrom(file, startOptions)) {
            if (r.job) {
              const j = r.job;
              const ok = !r.error && !j.reason;
              if (!ok) failed++;
              if (r.error) process.stderr.write(`podrun: job ${r.name}: ${(r.error as Error).message}\n`);
              process.stdout.write(`job/${r.name} ${ok ? 'Complete' : `Failed${j.reason ? ` (${j.reason})` : ''}`}: ${j.succeeded} succeeded, ${j.failed} failed (${j.pods.join(' ')})\n`);
              continue;
            }
            if (r.error) {
              failed++;
              process.stderr.write(`podrun: pod ${r.name}: ${(r.error as Error).message}\n`);
              continue;
            }
            const shown = lib().inspectPod(r.pod!.id, o());
            if (opt.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
            else process.stdout.write(`${r.name} ${r.pod!.id} ${shown.status.phase}${shown.status.reason ? ` (${shown.status.reason}: ${shown.status.message})` : ''}\n`);
            if (shown.status.phase === 'Failed') failed++;
          }
          return failed ? 1 : 0;
        }
        // --wait: one Pod, followed to its end
        const rec = await lib().startPodFrom(file, startOptions);
        let shown = lib().inspectPod(rec.id, o());
        const say = (): void => {
          if (opt.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
          else process.stdout.write(`${rec.name} ${rec.id} ${shown.status.phase}${shown.status.reason ? ` (${shown.status.reason}: ${shown.status.message})` : ''}\n`);
        };
        if (shown.status.phase === 'Failed') say();
        {
          if (shown.status.phase !== 'Failed') shown = await lib().waitPod(rec.id, o());
          if (!opt.json) {
            for (const c of [...shown.status.initContainerStatuses, ...shown.status.containerStatuses]) {
              await lib().podLogs(rec.id, c.name, (s) => writeWithBackpressure(s.split('\n').map((l) => (l ? `${c.name}: ${l}` : l)).join('\n')), o());
            }
          }
          say();
          if (opt.rm) await lib().removePodByName(rec.id, { ...o(), force: true });
        }
        return shown.status.phase === 'Failed' ? 1 : 0;
      })(),
    );

  program
    .command('ps')
    .description('list pods (those still pending or running; -a for all)')
    .option('-a, --all', 'also pods that have finished (Succeeded or Failed)')
    .option('-q, --quiet', 'only their ids')
    .option('-l, --selector <selector>', 'only pods whose labels match (k=v, k!=v, k, !k, k in (a,b))')
    .option('-o, --output <format>', 'wide, json, yaml, name or jsonpath=TEMPLATE (kubectl\'s)')
    .option('--json', 'podrun\'s summaries as JSON')
    .action((opt: { json?: boolean; all?: boolean; quiet?: boolean; selector?: string; output?: string }) =>
      run(async () => {
        const out = outputFormat(opt.output);
        const selector = opt.selector === undefined ? undefined : parseSelector(opt.selector);
        const all = lib().pods(o())
          .filter((p) => opt.all || (p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed'))
          .map((p) => ({ p, view: selector || out.kind !== 'table' ? lib().inspectPod(p.id, o()) : undefined }))
          .filter(({ view }) => !selector || matchesSelector(view!.manifest.metadata.labels, selector))
          .sort((a, b) => a.p.namespace.localeCompare(b.p.namespace) || a.p.name.localeCompare(b.p.name)); // kubectl's order
        if (opt.quiet) return void process.stdout.write(all.map(({ p }) => `${p.id}\n`).join(''));
        if (opt.json) return void process.stdout.write(`${JSON.stringify(all.map(({ p }) => p), null, 2)}\n`);
        if (out.kind === 'wide') {
          return void process.stdout.write(table([['NAME', 'ID', 'READY', 'STATUS', 'RESTARTS', 'IP', 'AGE', 'NAMESPACE', 'NETWORK', 'IMAGES'],
            ...all.map(({ p, view }) => [...row(p), p.namespace, p.network ?? '-', view!.manifest.spec.containers.map((c) => c.image).join(',')])]));
        }
        if (out.kind !== 'table') return void process.stdout.write(formatPods(all.map(({ view }) => view!), out, true));
        process.stdout.write(table([['NAME', 'ID', 'READY', 'STATUS', 'RESTARTS', 'IP', 'AGE'], ...all.map(({ p }) => row(p))]));
      })(),
    );

  program
    .command('inspect')
    .description("a pod's status, shaped like a Kubernetes Pod's .status (JSON); -o for the whole Pod as kubectl shows it")
    .argument('<pod>')
    .option('-o, --output <format>', 'json, yaml, name or jsonpath=TEMPLATE (kubectl\'s)')
    .action((pod: string, opt: { output?: string }) => run(async () => {
      const view = lib().inspectPod(pod, o());
      if (opt.output === undefined) return void process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      const out = outputFormat(opt.output);
      if (out.kind === 'wide' || out.kind === 'table') throw new Error(`-o ${opt.output}: inspect prints json, yaml, name or jsonpath=TEMPLATE`);
      process.stdout.write(formatPods([view], out, false));
    })());

  program
    .command('logs')
    .description("a container's output (CRI log)")
    .argument('<pod>')
    .option('-c, --container <name>', defaultContainerHelp)
    .option('-f, --follow', 'keep printing as it writes, until it exits')
    .option('--timestamps', 'prefix each line with its RFC 3339 time')
    .option('-p, --previous', 'the run before the container\'s last restart')
    .option('--tail <lines>', 'only the last N lines (then, with -f, what follows)')
    .option('--since <duration>', 'only lines newer than this (5s, 2m, 1h30m)')
    .option('--since-time <time>', 'only lines at or after this RFC 3339 time')
    .option('--limit-bytes <n>', 'stop after this many bytes')
    .action((pod: string, opt: { container?: string; follow?: boolean; timestamps?: boolean; previous?: boolean; tail?: string; since?: string; sinceTime?: string; limitBytes?: string }) =>
      run(async () => {
        if (opt.since !== undefined && opt.sinceTime !== undefined) throw new Error('--since and --since-time: only one of them');
        const sinceMs = opt.since !== undefined ? Date.now() - parseDuration(opt.since, '--since')
          : opt.sinceTime !== undefined ? parseTime(opt.sinceTime, '--since-time') : undefined;
        // kubectl's --tail=-1: everything
        const tail = opt.tail === undefined || opt.tail === '-1' ? undefined : wholeNumber(opt.tail, '--tail');
        const limitBytes = opt.limitBytes === undefined ? undefined : wholeNumber(opt.limitBytes, '--limit-bytes', 1);
        return lib().podLogs(pod, opt.container, writeWithBackpressure, { ...o(), onNotice, follow: opt.follow, timestamps: opt.timestamps, previous: opt.previous, tail, sinceMs, limitBytes });
      })(),
    );

  program
    .command('exec')
    .description('run a command in a container of a pod')
    .argument('<pod>')
    .argument('<command...>')
    .option('-c, --container <name>', defaultContainerHelp)
    .option('-i, --stdin', 'pass our stdin to the command (without it, it reads /dev/null)')
    .option('-t, --tty', 'give the command a terminal connected to ours')
    .action((pod: string, cmd: string[], opt: { container?: string; stdin?: boolean; tty?: boolean }) =>
      run(async () => {
        try {
          const r = await lib().execInPod(pod, opt.container, cmd, { ...o(), onNotice, stdin: opt.stdin, tty: opt.tty });
          return r.status ?? 0;
        } catch (e) {
          // the command could not be run: the shell's codes, as kubectl and podman give them
          const code = execFailureStatus(e);
          if (code === undefined) throw e;
          process.stderr.write(`podrun: ${(e as Error).message.replace(/ \[process\.args\[0\]\]$/, '')}\n`);
          return code;
        }
      })(),
    );

  program
    .command('attach')
    .description("a container's live output, and with -i your input to its stdin (kubectl attach)")
    .argument('<pod>')
    .option('-c, --container <name>', defaultContainerHelp)
    .option('-i, --stdin', "send your input to the container's stdin (its spec needs stdin: true)")
    .action((pod: string, opt: { container?: string; stdin?: boolean }) =>
      run(async () => {
        await lib().attachToPod(pod, opt.container, { ...o(), onNotice, stdin: opt.stdin });
      })(),
    );

  program
    .command('stats')
    .description('cpu, memory, pids and io of pods and their containers (cgroup v2)')
    .argument('[pod...]')
    .option('--json', 'JSON output (runc events --stats shape per cgroup)')
    .action((names: string[], opt: { json?: boolean }) =>
      run(async () => {
        const all = lib().podStats(names, o());
        if (opt.json) return void process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        const rows = [['POD', 'CONTAINER', 'CPU', 'MEMORY', 'PIDS', 'IO (R/W)']];
        const na = 'n/a';
        const fmt = (s: import('../cgroup/stats').CgroupStats): string[] => [
          s.cpu ? `${(s.cpu.usage.total / 1e9).toFixed(2)}s` : na,
          s.memory ? `${(s.memory.usage.usage / 1048576).toFixed(1)}MiB${s.memory.usage.limit ? ` / ${(s.memory.usage.limit / 1048576).toFixed(0)}MiB` : ''}` : na,
          s.pids ? String(s.pids.current) : na,
          s.io ? `${s.io.devices.reduce((n, d) => n + d.rbytes, 0)}B/${s.io.devices.reduce((n, d) => n + d.wbytes, 0)}B` : na,
        ];
        const missing = new Set<string>();
        for (const p of all) {
          rows.push([p.name, '(pod)', ...fmt(p.pod)]);
          for (const c of p.containers) rows.push([p.name, c.name, ...fmt(c.stats)]);
          for (const u of p.pod.unavailable) missing.add(u);
        }
        process.stdout.write(table(rows));
        if (missing.size) process.stdout.write(`(n/a: this host's cgroup v2 offers no ${[...missing].join(', ')} controller)\n`);
      })(),
    );

  program
    .command('stop')
    .description('stop a pod: SIGTERM, the grace period, then SIGKILL')
    .argument('<pod...>')
    .option('-t, --time <seconds>', 'grace period (default: the pod\'s terminationGracePeriodSeconds, or 30)')
    .action((names: string[], opt: { time?: string }) =>
      run(async () => eachPod(names, (n) => lib().stopPodByName(n, { ...o(), time: opt.time === undefined ? undefined : Number(opt.time) })))(),
    );

  program
    .command('rm')
    .description('remove pods and everything they made')
    .argument('<pod...>')
    .option('-f, --force', 'stop running pods first (SIGKILL)')
    .action((names: string[], opt: { force?: boolean }) =>
      run(async () => eachPod(names, (n) => lib().removePodByName(n, { ...o(), force: opt.force })))(),
    );

  program
    .command('gc')
    .description('remove what crashed or killed `podrun start`s left: half-made pods, orphaned layers, volumes and cgroups')
    .option('--json', 'print the report as JSON')
    .action((opt: { json?: boolean }) =>
      run(async () => {
        const r = await lib().gcPods(o());
        if (opt.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        for (const p of r.interrupted) process.stdout.write(`removed pod ${p}: its start was interrupted\n`);
        for (const p of r.orphaned) process.stdout.write(`removed pod ${p}: the process that owned it has ended\n`);
        for (const id of r.recordless) process.stdout.write(`removed pod directory ${id}: no record\n`);
        for (const d of r.dataDirs) process.stdout.write(`removed ${d}\n`);
        for (const c of r.cgroups) process.stdout.write(`removed cgroup ${c}\n`);
        for (const n of r.networks) process.stdout.write(`deleted network attachment ${n}\n`);
        if (r.tempFiles) process.stdout.write(`removed ${r.tempFiles} temp files of writers that died\n`);
        for (const l of r.left) process.stderr.write(`podrun: gc left ${l}\n`);
      })(),
    );

  program
    .command('events')
    .description("a pod's status changes as they happen (container starts, exits, back-offs, readiness, probe failures), until it finishes")
    .argument('<pod>')
    .option('--json', 'one JSON object per line')
    .option('--wait', 'wait for a pod of that name that does not exist yet')
    .action((pod: string, opt: { json?: boolean; wait?: boolean }) =>
      run(async () => {
        const ac = new AbortController();
        process.once('SIGINT', () => ac.abort());
        while (opt.wait && !ac.signal.aborted && !podExists(pod, o())) await sleep(100);
        await lib().watchPod(pod, (e) => {
          if (opt.json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
          const { time, type, ...rest } = e;
          process.stdout.write(`${time} ${type} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`).join(' ')}\n`);
        }, { ...o(), signal: ac.signal });
      })(),
    );

  program
    .command('wait')
    .description("wait until pods meet a condition, as kubectl wait: --for=condition=Ready, --for=delete, --for=jsonpath='{.status.phase}'=Running")
    .argument('<pods...>')
    .requiredOption('--for <condition>', 'condition=NAME[=True|False], delete, or jsonpath=TEMPLATE[=VALUE]')
    .option('--timeout <duration>', 'give up after this long (kubectl\'s default: 30s)', '30s')
    .action((names: string[], opt: { for: string; timeout: string }) =>
      run(async () => {
        const met = waitCondition(opt.for);
        const deadline = Date.now() + parseDuration(opt.timeout, '--timeout');
        let failed = 0;
        for (const name of names) {
          for (;;) {
            let view: PodView | undefined;
            try {
              view = lib().inspectPod(name, o());
            } catch (e) {
              if ((e as { code?: string }).code !== 'ENOTFOUND') throw e;
            }
            if (met(view && kubePod(view))) {
              process.stdout.write(`pod/${view?.name ?? name} ${opt.for === 'delete' ? 'deleted' : 'condition met'}\n`);
              break;
            }
            if (Date.now() >= deadline) {
              process.stderr.write(`podrun: timed out waiting for the condition on pods/${name}\n`);
              failed++;
              break;
            }
            await sleep(100);
          }
        }
        return failed ? 1 : 0;
      })(),
    );

  // run by the library's reaper (podrun-monitor reaper) when a process owning pods has ended; not for users
  program
    .command('reap-orphans', { hidden: true })
    .action(() =>
      run(async () => {
        const { root, dataRoot } = o();
        const { DEFAULT_STATE_ROOT } = require('../oci/lifecycle/state-store') as typeof import('../oci/lifecycle/state-store');
        const { DEFAULT_DATA_ROOT } = require('../image/store') as typeof import('../image/store');
        await (require('../pod/pod-gc') as typeof import('../pod/pod-gc')).reapOrphans(root ?? DEFAULT_STATE_ROOT, dataRoot ?? DEFAULT_DATA_ROOT);
      })(),
    );

  // started detached by `start` for pods with probes; not for users
  program
    .command('probe-pod', { hidden: true })
    .argument('<id>')
    .action((id: string) =>
      run(async () => {
        const ac = new AbortController();
        process.on('SIGTERM', () => ac.abort());
        const root = globals().runroot ?? (require('../oci/lifecycle/state-store') as typeof import('../oci/lifecycle/state-store')).DEFAULT_STATE_ROOT;
        const { stopPod } = require('../pod/pod-lifecycle') as typeof import('../pod/pod-lifecycle');
        await (require('../pod/prober') as typeof import('../pod/prober')).runProber(root, id, ac.signal, (rec, grace) => stopPod(root, rec, grace));
      })(),
    );
}

/** kubectl's --validate values, its legacy booleans included */
function validationMode(v: string): 'strict' | 'warn' | 'ignore' {
  const modes = { strict: 'strict', true: 'strict', warn: 'warn', ignore: 'ignore', false: 'ignore' } as const;
  if (!Object.hasOwn(modes, v)) throw new Error(`--validate ${v}: expected strict, warn or ignore`);
  return modes[v as keyof typeof modes];
}

/** A Go duration as kubectl takes it ("1h30m", "5s", "250ms"), in milliseconds. */
export function parseDuration(v: string, flag: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== v) throw new Error(`${flag} ${v}: expected a duration such as 30s, 5m or 1h30m`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2]], 0);
}

function parseTime(v: string, flag: string): number {
  const t = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new Error(`${flag} ${v}: expected an RFC 3339 time such as 2026-01-02T15:04:05Z`);
  return t;
}

function wholeNumber(v: string, flag: string, min = 0): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${flag} ${v}: expected a whole number${min ? ` of at least ${min}` : ''}`);
  return Number(v);
}

type OutputFormat = { kind: 'table' | 'wide' | 'json' | 'yaml' | 'name' } | { kind: 'jsonpath'; template: string };

function outputFormat(v: string | undefined): OutputFormat {
  if (v === undefined) return { kind: 'table' };
  if (['wide', 'json', 'yaml', 'name'].includes(v)) return { kind: v as 'wide' };
  const m = /^jsonpath=(.*)$/s.exec(v);
  if (m) return { kind: 'jsonpath', template: m[1] };
  throw new Error(`-o ${v}: expected wide, json, yaml, name or jsonpath=TEMPLATE`);
}

/** Pods as kubectl prints them: a List for several (json, yaml, jsonpath), pod/NAME lines */
function formatPods(views: PodView[], out: OutputFormat, list: boolean): string {
  const pods = views.map(kubePod);
  const doc = list ? kubeList(pods) : pods[0];
  switch (out.kind) {
    case 'json': return `${JSON.stringify(doc, null, 4)}\n`;
    case 'yaml': return (require('yaml') as typeof import('yaml')).stringify(doc);
    case 'name': return views.map((v) => `pod/${v.name}\n`).join('');
    case 'jsonpath': return jsonPathTemplate(out.template, doc);
    default: throw new Error('unreachable');
  }
}

function podExists(name: string, opts: { root?: string }): boolean {
  try {
    lib().inspectPod(name, opts);
    return true;
  } catch {
    return false;
  }
}

/** kubectl wait's --for: a test of the Pod object (undefined: the pod is gone) */
function waitCondition(v: string): (pod: Record<string, unknown> | undefined) => boolean {
  if (v === 'delete') return (pod) => pod === undefined;
  let m = /^condition=([^=]+)(?:=(.*))?$/.exec(v);
  if (m) {
    const [, type, want = 'True'] = m;
    return (pod) => ((pod?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [])
      .some((c) => c.type.toLowerCase() === type.toLowerCase() && c.status.toLowerCase() === want.toLowerCase());
  }
  m = /^jsonpath=(\{[^}]*\}|[^=]+)(?:=(.*))?$/.exec(v);
  if (m) {
    const [, path, want] = m;
    const template = path.startsWith('{') ? path : `{${path}}`;
    return (pod) => {
      if (!pod) return false;
      const got = jsonPathTemplate(template, pod);
      return want === undefined ? got !== '' : got === want;
    };
  }
  throw new Error(`--for ${v}: expected condition=NAME[=VALUE], delete or jsonpath=TEMPLATE[=VALUE]`);
}
