/** Attach a pod's network namespace to a CNI network and detach it:
 * plugins of a list run in order for ADD (each gets the previous result),
 * in reverse for DEL (each gets the cached result of the ADD). The
 * attachment is cached on disk before ADD starts, so a crash at any point
 * leaves enough for `rm`/`gc` to run DEL and free IPAM leases. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { writeFileAtomic } from '../util/atomic-file';
import { pluginInput, type CapabilityArgs, type CniResult, type NetworkConfList } from './cni-config';
import { invokePlugin, type PluginCall } from './cni-exec';

export interface Attachment {
  network: NetworkConfList;
  containerId: string;
  netns: string;
  ifName: string;
  args?: string;
  capabilityArgs: CapabilityArgs;
  binDirs: string[];
}

interface CacheEntry extends Attachment {
  kind: 'podrun-cni-cache-v1';
  /** absent until ADD completed */
  result?: CniResult;
  /** who owns it: gc of one state root leaves another's */
  stateRoot: string;
}

export const cniCacheDir = (dataRoot: string): string => path.join(dataRoot, 'cni', 'results');
const cacheFile = (dataRoot: string, a: { network: { name: string }; containerId: string; ifName: string }): string =>
  path.join(cniCacheDir(dataRoot), `${a.network.name}-${a.containerId}-${a.ifName}.json`);

function call(a: Attachment, command: PluginCall['command']): PluginCall {
  return { command, containerId: a.containerId, netns: a.netns, ifName: a.ifName, args: a.args, binDirs: a.binDirs };
}

/** ADD through the list; on failure the part that was added is deleted again. */
export async function addNetwork(a: Attachment, dataRoot: string, stateRoot: string): Promise<CniResult> {
  const file = cacheFile(dataRoot, a);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const entry: CacheEntry = { kind: 'podrun-cni-cache-v1', ...a, stateRoot: path.resolve(stateRoot) };
  writeFileAtomic(file, JSON.stringify(entry), 0o600);
  let prev: unknown;
  try {
    for (const p of a.network.plugins) prev = await invokePlugin(p.type, call(a, 'ADD'), pluginInput(a.network, p, a.capabilityArgs, prev));
  } catch (e) {
    await delNetwork(dataRoot, a).catch(() => undefined);
    throw new PodrunError('EHOST', `network ${a.network.name}: ${(e as Error).message}`, { cause: e });
  }
  entry.result = (prev ?? {}) as CniResult;
  writeFileAtomic(file, JSON.stringify(entry), 0o600);
  return entry.result;
}

function readCache(file: string): CacheEntry | undefined {
  try {
    const e = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheEntry;
    return e.kind === 'podrun-cni-cache-v1' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** DEL through the list in reverse, with the configuration and result cached
 * at ADD (the configuration file may have changed since). Every plugin is
 * asked even when one fails; the cache goes only when all succeeded. */
export async function delNetwork(dataRoot: string, key: { network: { name: string }; containerId: string; ifName: string }): Promise<void> {
  const file = cacheFile(dataRoot, key);
  const entry = readCache(file);
  if (!entry) return;
  const errors: string[] = [];
  for (const p of [...entry.network.plugins].reverse()) {
    try {
      await invokePlugin(p.type, call(entry, 'DEL'), pluginInput(entry.network, p, entry.capabilityArgs, entry.result));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new PodrunError('EHOST', `network ${entry.network.name}: ${errors.join('; ')}`);
  fs.rmSync(file, { force: true });
}

/** CHECK through the list (unless the list disables it). */
export async function checkNetwork(dataRoot: string, key: { network: { name: string }; containerId: string; ifName: string }): Promise<void> {
  const entry = readCache(cacheFile(dataRoot, key));
  if (!entry?.result) throw new PodrunError('ENOTFOUND', `network ${key.network.name}: ${key.containerId} is not attached`);
  if (entry.network.disableCheck) return;
  for (const p of entry.network.plugins) await invokePlugin(p.type, call(entry, 'CHECK'), pluginInput(entry.network, p, entry.capabilityArgs, entry.result));
}

/** Cached attachments (for gc): what is attached to which container. */
export function cachedAttachments(dataRoot: string): Array<{ network: { name: string }; containerId: string; ifName: string; stateRoot: string; netns: string }> {
  const dir = cniCacheDir(dataRoot);
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  return names.map((n) => readCache(path.join(dir, n))).filter((e): e is CacheEntry => !!e);
}

/** VERSION of each plugin of a list (the spec versions it supports), and
 * STATUS (CNI 1.1: can it take ADDs now?) of those that speak 1.1. */
export async function pluginVersions(list: NetworkConfList, binDirs: string[]): Promise<Array<{ type: string; supportedVersions: string[]; status: string }>> {
  return Promise.all(list.plugins.map(async (p) => {
    const r = (await invokePlugin(p.type, { command: 'VERSION', binDirs }, { cniVersion: list.cniVersion })) as { supportedVersions?: string[] } | undefined;
    const supportedVersions = r?.supportedVersions ?? [];
    let status = 'STATUS not supported (CNI < 1.1)';
    if (supportedVersions.includes('1.1.0')) {
      status = await invokePlugin(p.type, { command: 'STATUS', binDirs }, pluginInput({ ...list, cniVersion: '1.1.0' }, p, {}))
        .then(() => 'ready', (e: Error) => `not ready: ${e.message}`);
    }
    return { type: p.type, supportedVersions, status };
  }));
}
