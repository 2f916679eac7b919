/** Where to pull a registry's images from, as containerd's registry
 * config_path has it: <dir>/<registry>/hosts.toml with `server` and
 * `[host."<url>"]` mirrors (tried in file order, then the server), or the
 * registry itself. Parsing is pure; reading the directory is the edge. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';

export interface RegistryEndpoint {
  /** host[:port] to pull from */
  host: string;
  /** plain http */
  insecure: boolean;
}

/** The endpoints of `registry` from a hosts.toml text (which `file` names in errors). */
export function parseHostsToml(text: string, file: string, registry: string, insecureRegistries: readonly string[] = []): RegistryEndpoint[] {
  let doc: Record<string, unknown>;
  try {
    doc = (require('smol-toml') as typeof import('smol-toml')).parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new PodrunError('EINVALID_CONFIG', `${file}: ${(e as Error).message}`);
  }
  const endpoint = (url: string, at: string): RegistryEndpoint => {
    const m = /^(https?):\/\/([^/]+)\/?(v2\/?)?$/.exec(url);
    if (!m) throw new PodrunError('EINVALID_CONFIG', `${file}: ${at}: ${JSON.stringify(url)} is not http(s)://host[:port] (paths are not supported)`, { field: at });
    return { host: m[2], insecure: m[1] === 'http' || insecureRegistries.includes(m[2]) };
  };
  const out: RegistryEndpoint[] = [];
  const hosts = (doc.host ?? {}) as Record<string, { capabilities?: string[] }>;
  for (const [url, h] of Object.entries(hosts)) {
    const caps = h?.capabilities ?? ['pull', 'resolve'];
    if (!caps.includes('pull')) continue;
    out.push(endpoint(url, `host."${url}"`));
  }
  const server = typeof doc.server === 'string' ? doc.server : `https://${registry}`;
  out.push(endpoint(server, 'server'));
  return out;
}

/** docker.io's images live on registry-1.docker.io; hosts.toml directories name the registry as images do. */
export function registryEndpoints(configPath: string | undefined, registry: string, insecureRegistries: readonly string[] = []): RegistryEndpoint[] {
  const self = [{ host: registry, insecure: insecureRegistries.includes(registry) }];
  if (!configPath) return self;
  for (const dir of [registry, '_default']) {
    const file = path.join(configPath, dir, 'hosts.toml');
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    return parseHostsToml(text, file, registry, insecureRegistries);
  }
  return self;
}
