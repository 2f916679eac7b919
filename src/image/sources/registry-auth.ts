/** Credentials from docker-style auth files, and the registry's auth
 * challenge (WWW-Authenticate) parsed into what to ask for. Pure but for
 * reading the file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PodrunError } from '../../errors';

export interface Credentials {
  username: string;
  password: string;
}

/** The auth files podman and docker use, in their order of precedence. */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const uid = process.getuid?.() ?? 0;
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  files.push(path.join(env.XDG_RUNTIME_DIR ?? `/run/containers/${uid}`, env.XDG_RUNTIME_DIR ? 'containers/auth.json' : 'auth.json'));
  files.push(path.join(os.homedir(), '.config', 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json'));
  return files;
}

function keysFor(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (registry === 'docker.io') keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

/** Credentials for a registry from the first auth file that has them.
 * An explicitly named file must exist and parse. */
export function findCredentials(registry: string, files: string[], explicit?: string): Credentials | undefined {
  const list = explicit ? [explicit] : files;
  for (const file of list) {
    let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof doc;
    } catch (e) {
      if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new PodrunError('EREGISTRY', `auth file ${file}: ${(e as Error).message}`, { cause: e });
    }
    for (const key of keysFor(registry)) {
      const entry = doc.auths?.[key];
      if (!entry) continue;
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw new PodrunError('EREGISTRY', `auth file ${file}: auths[${JSON.stringify(key)}].auth is not base64 of user:password`);
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
    }
  }
  return undefined;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="…"` → { scheme, params } */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme, params };
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
