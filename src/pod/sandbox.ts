/** The pod sandbox: net, IPC and UTS namespaces (owned by a user namespace of
 * the pod's own with hostUsers: false) pinned by bind mount (no pause
 * process), loopback up, hostname set; and the pod's /etc files. */
import { runChild } from '../native/spawn';
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { detachMount, monitorPath, nativeFs } from '../native';
import { MS } from '../oci/mount-options';
import { podDomain, podHostname, podShortHostname, type SandboxNamespaces } from './container-spec';
import type { PodManifest } from './manifest-schema';
import type { IdRange } from './user-namespace';


/** Pin new namespaces on files in `dir` (podrun-monitor sandbox: a child
 * unshares them, sets the hostname, brings loopback up and bind-mounts its
 * /proc/self/ns/* onto the files before it exits). Resolves once they are
 * pinned, so other set-up can run meanwhile; it always settles. */
export function createSandbox(dir: string, pod: PodManifest, userns?: IdRange): Promise<SandboxNamespaces> {
  fs.mkdirSync(dir, { recursive: true });
  const ns: SandboxNamespaces = {};
  const kinds: Array<['net' | 'uts' | 'ipc', 'network' | 'uts' | 'ipc']> = [];
  if (!pod.spec.hostNetwork) kinds.push(['net', 'network'], ['uts', 'uts']);
  if (!pod.spec.hostIPC) kinds.push(['ipc', 'ipc']);
  if (kinds.length === 0) return Promise.resolve(ns);
  const user = userns ? ['--user', `${userns.uidBase}:${userns.gidBase}:${userns.size}`] : [];
  return runChild(monitorPath(), ['sandbox', dir, podHostname(pod), ...kinds.map(([k]) => `--${k}`), ...user]).then((r) => {
    if (r.code === 0) {
      for (const [kind, key] of kinds) ns[key] = path.join(dir, kind);
      if (userns) ns.user = path.join(dir, 'user');
      return ns;
    }
    removeSandbox(dir);
    throw new PodrunError('EHOST', `pod sandbox: ${(r.stderr.toString() || r.error?.message || `exit ${r.code}`).trim().replace(/^podrun-monitor: sandbox: /, '')}`);
  });
}

/** The pod's /dev/shm: one tmpfs every container binds (POSIX shm is shared
 * with the IPC namespace, as in a Kubernetes sandbox). */
export function createPodShm(dir: string): string {
  const shm = path.join(dir, 'shm');
  fs.mkdirSync(shm, { recursive: true });
  nativeFs().mount('shm', shm, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k');
  return shm;
}

/** Unpin whatever is pinned in `dir` and remove it. */
export function removeSandbox(dir: string): void {
  for (const kind of ['net', 'ipc', 'uts', 'user', 'shm']) {
    const file = path.join(dir, kind);
    if (fs.existsSync(file)) detachMount(file);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** /etc/hosts, /etc/hostname and /etc/resolv.conf as kubelet writes them. */
export function writeEtcFiles(dir: string, pod: PodManifest, hostResolvConf: string, podIP?: string): { hosts: string; hostname: string; resolvConf: string } {
  fs.mkdirSync(dir, { recursive: true });
  const name = podShortHostname(pod);
  const domain = podDomain(pod);
  const fqdn = domain ? `${name}.${domain} ` : '';
  const lines = [
    '# Kubernetes-managed hosts file (podrun).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${podIP ?? '127.0.1.1'}\t${fqdn}${name}`,
  ];
  for (const a of pod.spec.hostAliases ?? []) lines.push(`# Entries added by HostAliases.\n${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  const files = { hosts: path.join(dir, 'hosts'), hostname: path.join(dir, 'hostname'), resolvConf: path.join(dir, 'resolv.conf') };
  fs.writeFileSync(files.hosts, `${lines.join('\n')}\n`);
  fs.writeFileSync(files.hostname, `${podHostname(pod)}\n`);
  fs.writeFileSync(files.resolvConf, resolvConf(pod, hostResolvConf));
  return files;
}

const LOOPBACK = /^(127\.|::1$)/;

/** The host's resolver file for pods: with a local stub resolver (systemd-resolved's
 * 127.0.0.53, unreachable from a pod's netns) the upstream file, as kubelet is told to. */
export function hostResolvConf(read: (f: string) => string | undefined = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined)): string {
  const main = read('/etc/resolv.conf') ?? '';
  const servers = main.split('\n').filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  if (servers.length && servers.every((s) => LOOPBACK.test(s))) return read('/run/systemd/resolve/resolv.conf') ?? main;
  return main;
}

/** dnsPolicy None: dnsConfig alone; otherwise the host's file with dnsConfig merged in.
 * Loopback nameservers are dropped unless the pod shares the host's network. */
export function resolvConf(pod: PodManifest, host: string): string {
  const cfg = pod.spec.dnsConfig ?? {};
  const base = pod.spec.dnsPolicy === 'None' ? '' : host;
  const hostServers = base.split('\n').filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim().split(/\s+/)[1]);
  const nameservers = [...hostServers.filter((n) => pod.spec.hostNetwork || !LOOPBACK.test(n)), ...(cfg.nameservers ?? [])];
  const searches = [...base.split('\n').filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1)), ...(cfg.searches ?? [])];
  const options = [...base.split('\n').filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1)), ...(cfg.options ?? []).map((o) => (o.value ? `${o.name}:${o.value}` : o.name))];
  const out: string[] = [];
  for (const n of [...new Set(nameservers)].slice(0, 3)) out.push(`nameserver ${n}`);
  if (searches.length) out.push(`search ${[...new Set(searches)].join(' ')}`);
  if (options.length) out.push(`options ${[...new Set(options)].join(' ')}`);
  return out.length ? `${out.join('\n')}\n` : '';
}
