/** Run one CNI plugin binary: the CNI_* environment, config on stdin,
 * result or error JSON on stdout (the side-effect edge of network/). */
import { runChild } from '../native/spawn';
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { traced } from '../util/trace';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS';

export interface PluginCall {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  binDirs: string[];
}

/** The plugin binary: the first executable named `type` in the bin dirs. */
export function findPlugin(type: string, binDirs: string[]): string {
  if (type.includes('/')) throw new PodrunError('EINVALID_CONFIG', `CNI plugin type ${JSON.stringify(type)} must be a bare name`);
  for (const d of binDirs) {
    const f = path.join(d, type);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      /* next dir */
    }
  }
  throw new PodrunError('ENOTFOUND', `CNI plugin ${type} not found in ${binDirs.join(':')} (Debian: apt-get install containernetworking-plugins)`);
}

/** Invoke a plugin; resolves to its parsed stdout (or undefined when empty). */
export function invokePlugin(type: string, call: PluginCall, input: object): Promise<unknown> {
  const bin = findPlugin(type, call.binDirs);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
    CNI_PATH: call.binDirs.join(':'),
  };
  if (call.containerId) env.CNI_CONTAINERID = call.containerId;
  if (call.netns) env.CNI_NETNS = call.netns;
  if (call.ifName) env.CNI_IFNAME = call.ifName;
  if (call.args) env.CNI_ARGS = call.args;
  return traced(`cni: ${type} ${call.command}`, async () => {
    const r = await runChild(bin, [], { env, input: JSON.stringify(input) });
    if (r.error) throw new PodrunError('EHOST', `CNI plugin ${type} (${call.command}): ${r.error.message}`, { cause: r.error });
    const text = r.stdout.toString('utf8').trim();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (r.code === 0) return parsed;
    const e = parsed as { code?: number; msg?: string; details?: string } | undefined;
    const why = e?.msg ? `${e.msg}${e.details ? `: ${e.details}` : ''} (CNI error ${e.code})` : (r.stderr.toString('utf8').trim() || text || `exit ${r.code}`);
    throw new PodrunError('EHOST', `CNI plugin ${type} ${call.command} failed: ${why}`);
  });
}
