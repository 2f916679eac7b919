/** `podrun cri --config FILE`: the server's settings, YAML (or JSON), checked
 * with errors naming the key as written. Every key is optional. */
import fs from 'node:fs';
import { z } from 'zod';
import { PodrunError } from '../errors';

export const criConfigSchema = z.strictObject({
  /** unix:///run/podrun/cri.sock */
  listen: z.string().regex(/^unix:\/\/\//, 'must be unix:///<path>').optional(),
  /** state root, shared with the podrun CLI (default /run/podrun) */
  root: z.string().min(1).optional(),
  /** images and writable layers (default /var/lib/podrun) */
  dataRoot: z.string().min(1).optional(),
  cni: z.strictObject({
    confDir: z.string().min(1).optional(),
    binDirs: z.array(z.string().min(1)).optional(),
    /** the network pods join (default: the first configuration in confDir, by file name, as containerd and CRI-O) */
    network: z.string().min(1).optional(),
  }).optional(),
  registries: z.strictObject({
    /** mirrors and endpoints as containerd's registry config_path: <dir>/<registry>/hosts.toml */
    configPath: z.string().min(1).optional(),
    /** registries reached over plain http */
    insecure: z.array(z.string().min(1)).optional(),
    /** a docker-style auth.json for credentials the request does not carry */
    authFile: z.string().min(1).optional(),
    /** registry for unqualified names (default docker.io) */
    defaultRegistry: z.string().min(1).optional(),
  }).optional(),
  /** seccomp for containers whose request names none: Unconfined (Kubernetes' default) or RuntimeDefault */
  defaultSeccomp: z.enum(['Unconfined', 'RuntimeDefault']).optional(),
  streaming: z.strictObject({
    /** host:port the streaming server (exec/attach/port-forward URLs) listens on (default 127.0.0.1:0, a free port) */
    address: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port').optional(),
  }).optional(),
  /** only cgroupfs: podrun drives cgroup v2 directly */
  cgroupDriver: z.literal('cgroupfs').optional(),
  /** containerd's restrict_oom_score_adj: a container's oom_score_adj is never set below the server's own (where the
   * server may not lower it: without CAP_SYS_RESOURCE kubelet's -997/-998 for critical pods cannot be applied) */
  restrictOomScoreAdj: z.boolean().optional(),
});

export type CriConfig = z.infer<typeof criConfigSchema>;

/** "cni.network: expected string" naming the key path as the file spells it. */
export function parseCriConfig(text: string, file: string): CriConfig {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : (require('yaml') as typeof import('yaml')).parse(text);
  } catch (e) {
    throw new PodrunError('EINVALID_CONFIG', `${file}: ${(e as Error).message}`);
  }
  const r = criConfigSchema.safeParse(doc ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    const key = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    const what = i.code === 'unrecognized_keys' ? `unknown key ${(i as { keys: string[] }).keys.join(', ')}` : i.message;
    throw new PodrunError('EINVALID_CONFIG', `${file}: ${key ? `${key}: ` : ''}${what}`, { field: key || undefined });
  }
  return r.data;
}

export function readCriConfig(file: string): CriConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new PodrunError('ENOTFOUND', `${file}: ${(e as Error).message}`);
  }
  return parseCriConfig(text, file);
}
