/** Rootless pod networking through pasta (Debian `passt`), as podman rootless does: one pasta process per pod joins
 * the pod's network namespace, gives it a tap interface with the host's addresses and routes (so the pod reaches
 * what the host reaches, without root), and forwards exactly the pod's hostPorts from the host into it. Nothing else
 * is forwarded either way: pasta's defaults (every port the pod binds, every host port into the pod's loopback, the
 * gateway address mapped to the host's loopback) would expose host-only services to the pod and pod ports to the
 * host unasked. pasta daemonizes once its interface is configured and its ports are bound, so its exit status is
 * the readiness (and a taken port an error); its pid file, in the pod's data dir, is how rm and gc end it. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PodrunError } from '../errors';
import { processStartTime, waitProcessGone } from '../util/process-identity';
import type { PortMapping } from './cni-config';

/** The network name that selects pasta instead of a CNI network. */
export const PASTA_NETWORK = 'pasta';
export const PASTA_PID_FILE = 'pasta.pid';

export interface PastaPlan {
  netns: string;
  pidFile: string;
  ifName: string;
  ports: Array<PortMapping & { field: string }>;
}

/** What pasta cannot do for a pod (field: why), before anything is made. Pure. */
export function pastaErrors(ports: Array<PortMapping & { field: string }>, unprivilegedPortStart: number, rootless: boolean): string[] {
  // as root, pasta drops to nobody before it opens the pod's netns (in root's 0700 state dir); root has CNI anyway
  if (!rootless) return [`network ${PASTA_NETWORK}: for rootless podrun; as root, attach pods to a CNI network (podrun network init writes one)`];
  const out: string[] = [];
  for (const p of ports) {
    if (p.protocol === 'sctp') out.push(`${p.field}: protocol SCTP: pasta forwards TCP and UDP only`);
    else if (p.hostPort < unprivilegedPortStart) {
      out.push(`${p.field}: ${p.hostPort} is below net.ipv4.ip_unprivileged_port_start (${unprivilegedPortStart}): rootless, only root may bind it`);
    }
  }
  return out;
}

/** The lowest port an unprivileged process may bind in this network namespace (the host's, where pasta binds). */
export function unprivilegedPortStart(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}

/** pasta's command line for a pod (pure). */
export function pastaArgs(plan: PastaPlan): string[] {
  const spec = (p: PortMapping): string => `${p.hostIP ? `${p.hostIP}/` : ''}${p.hostPort}:${p.containerPort}`;
  const tcp = plan.ports.filter((p) => p.protocol === 'tcp').map(spec);
  const udp = plan.ports.filter((p) => p.protocol === 'udp').map(spec);
  const forward = (flag: string, specs: string[]): string[] => (specs.length ? specs.flatMap((s) => [flag, s]) : [flag, 'none']);
  return [
    '--config-net', '--netns', plan.netns, '--ns-ifname', plan.ifName,
    '--quiet', '--pid', plan.pidFile,
    // nothing from the pod's side reaches the host's loopback: neither its ports (-T/-U) nor the gateway's address
    '--no-map-gw', '--tcp-ns', 'none', '--udp-ns', 'none',
    ...forward('--tcp-ports', tcp), ...forward('--udp-ports', udp),
  ];
}

/** pasta's stderr without the noise of its failing syslog (none runs in most containers and CI machines). */
const pastaMessage = (stderr: string): string =>
  stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Failed to send \d+ bytes to syslog$/.test(l)).join('; ');

/** Start pasta for a pod and wait until it has configured the namespace and bound the ports (it then daemonizes). */
export async function startPasta(plan: PastaPlan, binary = 'pasta'): Promise<void> {
  try {
    fs.accessSync('/dev/net/tun', fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    throw new PodrunError('EHOST', `network ${PASTA_NETWORK}: /dev/net/tun cannot be opened by you (Debian's udev makes it mode 0666; ` +
      'where no udev ran: sudo chmod 0666 /dev/net/tun)');
  }
  fs.rmSync(plan.pidFile, { force: true });
  const child = spawn(binary, pastaArgs(plan), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // 'exit', not 'close': the daemon pasta leaves behind may hold the pipe's other end
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new PodrunError('EHOST', `network ${PASTA_NETWORK}: ${binary} is not installed (Debian: apt install passt)`);
    throw e;
  });
  child.stderr.destroy();
  if (code !== 0) {
    await stopPasta(plan.pidFile); // in case it got as far as forking
    throw new PodrunError('EHOST', `network ${PASTA_NETWORK}: pasta failed (exit ${code}): ${pastaMessage(stderr) || 'no message'}`);
  }
  if (pastaPid(plan.pidFile) === undefined) throw new PodrunError('EHOST', `network ${PASTA_NETWORK}: pasta exited without leaving its process (${plan.pidFile})`);
}

/** The pid of the pasta that wrote that pid file — only if that process is still it (its command line names the file). */
export function pastaPid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || processStartTime(pid) === undefined) return undefined;
  try {
    // a reused pid is some other process: only our pasta has this pod's pid file on its command line
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('--pid');
    return i >= 0 && argv[i + 1] === pidFile ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** End the pod's pasta (its ports are free once this returns), if it runs; then its pid file. */
export async function stopPasta(pidFile: string): Promise<void> {
  const pid = pastaPid(pidFile);
  if (pid !== undefined) {
    const start = processStartTime(pid);
    try {
      process.kill(pid, 'SIGKILL'); // it keeps no state worth a graceful end
    } catch {
      /* gone meanwhile */
    }
    // its sockets close as it dies: wait, so the next pod may bind the same ports
    await waitProcessGone(pid, start, 1000);
  }
  fs.rmSync(pidFile, { force: true });
}

/** The pod's addresses under pasta: the host's, on the interface of its default route (what pasta copies). */
export function pastaPodIPs(routeTable = readRouteTable(), interfaces = os.networkInterfaces()): string[] {
  const dev = defaultRouteInterface(routeTable);
  if (!dev) return [];
  const addrs = (interfaces[dev] ?? []).filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')));
  return [...addrs.filter((a) => a.family === 'IPv4'), ...addrs.filter((a) => a.family === 'IPv6')].map((a) => a.address);
}

/** The interface of the first IPv4 default route in /proc/net/route's text (pure). */
export function defaultRouteInterface(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && dest === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

function readRouteTable(): string {
  try {
    return fs.readFileSync('/proc/net/route', 'utf8');
  } catch {
    return '';
  }
}

/** The pod's pid file, in its data dir. */
export const pastaPidFile = (podDataDir: string): string => path.resolve(podDataDir, PASTA_PID_FILE);
