/** CNI network configurations: load .conflist/.conf/.json files from a
 * directory (lexical order, as libcni does), validate them, and build what
 * each plugin reads on stdin. Pure except for reading the directory. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { loadGenerated } from '../util/generated';
import { schemaErrorLines } from '../util/schema-errors';
import type { NetworkConfList, PluginConf } from './cni-schema';

export type { NetworkConfList, PluginConf };

export const DEFAULT_CNI_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_CNI_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];

export interface NetworkFile {
  file: string;
  network: NetworkConfList;
}

export interface LoadedNetworks {
  networks: NetworkFile[];
  /** files that are not valid network configurations, with the reason */
  invalid: Array<{ file: string; error: string }>;
}

/** Parse one configuration file's text: a list, or a single plugin config wrapped into one. */
export function parseNetworkConfig(text: string, file: string): NetworkConfList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PodrunError('EINVALID_CONFIG', `${file}: not JSON: ${(e as Error).message}`);
  }
  const isList = typeof doc === 'object' && doc !== null && 'plugins' in doc;
  const v = loadGenerated(`network/${isList ? 'conflist' : 'conf'}-validator.generated.js`);
  if (!v.default(doc)) {
    const { lines, first } = schemaErrorLines(v.default.errors ?? [], v.patternMessages);
    throw new PodrunError('EINVALID_CONFIG', `${file}: invalid CNI network configuration:\n  ${lines.join('\n  ')}`, { field: first });
  }
  if (isList) return doc as NetworkConfList;
  const { cniVersion, name, ...conf } = doc as PluginConf & { cniVersion: string; name: string };
  return { cniVersion, name, plugins: [conf as PluginConf] };
}

export function loadNetworks(confDir: string): LoadedNetworks {
  const out: LoadedNetworks = { networks: [], invalid: [] };
  let names: string[];
  try {
    names = fs.readdirSync(confDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw new PodrunError('EHOST', `CNI configuration directory ${confDir}: ${(e as Error).message}`);
  }
  for (const n of names.filter((x) => /\.(conflist|conf|json)$/.test(x)).sort()) {
    const file = path.join(confDir, n);
    try {
      out.networks.push({ file, network: parseNetworkConfig(fs.readFileSync(file, 'utf8'), file) });
    } catch (e) {
      out.invalid.push({ file, error: (e as Error).message });
    }
  }
  return out;
}

/** A network by name; the error lists what the directory offers. */
export function findNetwork(confDir: string, name: string): NetworkFile {
  const { networks, invalid } = loadNetworks(confDir);
  const found = networks.find((n) => n.network.name === name);
  if (found) return found;
  const bad = invalid.find((i) => path.basename(i.file).replace(/\.[^.]+$/, '') === name);
  if (bad) throw new PodrunError('EINVALID_CONFIG', bad.error);
  const offered = networks.map((n) => n.network.name);
  throw new PodrunError('ENOTFOUND', `CNI network ${name} is not configured in ${confDir} (${offered.length ? `offered: ${offered.join(', ')}` : 'no networks there; `podrun network init` writes one'})`);
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** Runtime arguments a plugin gets only for the capabilities it declares (CNI conventions). */
export interface CapabilityArgs {
  portMappings?: PortMapping[];
}

/** What one plugin of a list reads on stdin. */
export function pluginInput(list: NetworkConfList, plugin: PluginConf, capabilityArgs: CapabilityArgs, prevResult?: unknown): Record<string, unknown> {
  const input: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
    const v = (capabilityArgs as Record<string, unknown>)[cap];
    if (on && v !== undefined) runtimeConfig[cap] = v;
  }
  if (Object.keys(runtimeConfig).length) input.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) input.prevResult = prevResult;
  return input;
}

/** Does some plugin of the list take this capability? */
export const offersCapability = (list: NetworkConfList, cap: string): boolean => list.plugins.some((p) => p.capabilities?.[cap] === true);

/** CNI_ARGS as kubelet passes them. */
export function kubernetesCniArgs(p: { name: string; namespace: string; id: string }): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=${p.id};K8S_POD_UID=${p.id}`;
}

export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** The addresses (without prefix length) a result gives the pod's interface. */
export function resultIPs(r: CniResult | undefined, ifName: string): string[] {
  const ifaces = r?.interfaces ?? [];
  return (r?.ips ?? [])
    .filter((ip) => ip.interface === undefined || ifaces[ip.interface]?.name === ifName || ifaces[ip.interface]?.sandbox)
    .map((ip) => ip.address.replace(/\/\d+$/, ''));
}

/** The network `podrun network init` writes: a bridge with host-local IPAM and portmap. */
export function defaultConflist(o: { name: string; bridge: string; subnet: string }): NetworkConfList {
  return {
    cniVersion: '1.0.0',
    name: o.name,
    plugins: [
      { type: 'bridge', bridge: o.bridge, isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: o.subnet }]], routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  };
}
