/** podrun start / ps / inspect / logs / exec / stop / rm: pods. */
import type { Command } from 'commander';
import type { PodSummary } from '../pod';
import type { ImageGlobals } from './image-commands';
import { table } from './table';

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
  const ready = p.status.containerStatuses.filter((c) => c.ready).length;
  return [p.name, p.id, `${ready}/${p.status.containerStatuses.length}`, p.status.phase, String(all.reduce((n, c) => n + c.restartCount, 0)), p.status.podIP ?? '-', age(p.created)];
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
    .description('start a Kubernetes Pod manifest (YAML or JSON); returns once its containers run')
    .argument('<file>')
    .option('--insecure', 'pull missing images over plain HTTP')
    .option('--network <name>', 'attach the pod to this CNI network (default: loopback only)')
    .option('--restart-backoff <ms>', 'first back-off before a container is restarted (kubelet: 10000, doubling up to 5 min)')
    .option('--container-log-max-size <quantity>', "rotate each container's log at this size (kubelet's containerLogMaxSize)", '10Mi')
    .option('--container-log-max-files <n>', "log files kept per container, the current one included (kubelet's containerLogMaxFiles)", '5')
    .option('--memory-qos', "kubelet's MemoryQoS: memory.min from requests, memory.high at 90% of the way to the limit")
    .option('--wait', 'return when the pod has finished (Succeeded: exit 0, Failed: exit 1), printing its logs')
    .option('--rm', 'with --wait: remove the pod when it has finished')
    .option('--json', 'print the pod as JSON')
    .action((file: string, opt: { insecure?: boolean; json?: boolean; network?: string; restartBackoff?: string; wait?: boolean; rm?: boolean; memoryQos?: boolean; containerLogMaxSize: string; containerLogMaxFiles: string }) =>
      run(async () => {
        const backoff = opt.restartBackoff === undefined ? undefined : Number(opt.restartBackoff);
        if (backoff !== undefined && !(Number.isInteger(backoff) && backoff > 0)) throw new Error(`--restart-backoff ${opt.restartBackoff}: expected a positive number of milliseconds`);
        if (opt.rm && !opt.wait) throw new Error('--rm needs --wait (a running pod is removed with podrun rm -f)');
        if (!/^\d+$/.test(opt.containerLogMaxFiles)) throw new Error(`--container-log-max-files ${opt.containerLogMaxFiles}: expected a whole number (at least 2)`);
        const maxFiles = Number(opt.containerLogMaxFiles);
        const logRotation = lib().podLogRotation({ containerLogMaxSize: opt.containerLogMaxSize, containerLogMaxFiles: maxFiles }, { maxSize: '--container-log-max-size', maxFiles: '--container-log-max-files' });
        const rec = await lib().startPodFrom(file, {
          ...o(), insecure: opt.insecure, network: opt.network, restartBackoffMs: backoff, memoryQoS: opt.memoryQos,
          containerLogMaxSize: logRotation.maxSize, containerLogMaxFiles: logRotation.maxFiles,
        });
        let shown = lib().inspectPod(rec.id, o());
        const say = (): void => {
          if (opt.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
          else process.stdout.write(`${rec.name} ${rec.id} ${shown.status.phase}${shown.status.reason ? ` (${shown.status.reason})` : ''}\n`);
        };
        if (!opt.wait || shown.status.phase === 'Failed') say();
        if (opt.wait) {
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
    .option('--json', 'JSON output')
    .action((opt: { json?: boolean; all?: boolean }) =>
      run(async () => {
        const all = lib().pods(o()).filter((p) => opt.all || (p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed'));
        if (opt.json) return void process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
        process.stdout.write(table([['NAME', 'ID', 'READY', 'STATUS', 'RESTARTS', 'IP', 'AGE'], ...all.map(row)]));
      })(),
    );

  program
    .command('inspect')
    .description("a pod's status, shaped like a Kubernetes Pod's .status (JSON)")
    .argument('<pod>')
    .action((pod: string) => run(async () => void process.stdout.write(`${JSON.stringify(lib().inspectPod(pod, o()), null, 2)}\n`))());

  program
    .command('logs')
    .description("a container's output (CRI log)")
    .argument('<pod>')
    .option('-c, --container <name>', defaultContainerHelp)
    .option('-f, --follow', 'keep printing as it writes, until it exits')
    .option('--timestamps', 'prefix each line with its RFC 3339 time')
    .option('-p, --previous', 'the run before the container\'s last restart')
    .action((pod: string, opt: { container?: string; follow?: boolean; timestamps?: boolean; previous?: boolean }) =>
      run(async () => lib().podLogs(pod, opt.container, writeWithBackpressure, { ...o(), onNotice, follow: opt.follow, timestamps: opt.timestamps, previous: opt.previous }))(),
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
    .action((pod: string, opt: { json?: boolean }) =>
      run(async () => {
        const ac = new AbortController();
        process.once('SIGINT', () => ac.abort());
        await lib().watchPod(pod, (e) => {
          if (opt.json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
          const { time, type, ...rest } = e;
          process.stdout.write(`${time} ${type} ${Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`).join(' ')}\n`);
        }, { ...o(), signal: ac.signal });
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
        await (require('../pod/prober') as typeof import('../pod/prober')).runProber(root, id, ac.signal, (rec) => stopPod(root, rec));
      })(),
    );
}
