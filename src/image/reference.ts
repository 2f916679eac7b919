/** Image references as Docker and Kubernetes spell them, and the sources
 * `podrun pull/load` accept. Pure: unit-tested without a network. */
import { PodrunError } from '../errors';

export const DEFAULT_REGISTRY = 'docker.io';

export interface ImageRef {
  /** registry host[:port] as written, e.g. docker.io, 127.0.0.1:5000 */
  registry: string;
  /** repository path, e.g. library/busybox */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

function bad(ref: string, reason: string): PodrunError {
  return new PodrunError('EIMAGE', `image reference ${JSON.stringify(ref)}: ${reason}`, { field: 'image' });
}

/** Parse and normalise: `busybox` → docker.io/library/busybox:latest. */
export function parseImageRef(ref: string, defaultRegistry = DEFAULT_REGISTRY): ImageRef {
  if (!ref) throw bad(ref, 'is empty');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(ref, `digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(ref, `tag ${JSON.stringify(tag)} is invalid`);
  }
  const parts = rest.split('/');
  let registry = defaultRegistry;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift() as string;
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!COMPONENT.test(p)) throw bad(ref, `repository component ${JSON.stringify(p)} is invalid (lowercase letters, digits, separators)`);
  }
  if (!digest && !tag) tag = 'latest';
  return { registry, repository: parts.join('/'), tag, digest };
}

/** The canonical name podrun records: registry/repository:tag (or @digest). */
export function formatImageRef(r: ImageRef): string {
  const base = `${r.registry}/${r.repository}`;
  if (r.digest && !r.tag) return `${base}@${r.digest}`;
  return `${base}:${r.tag ?? 'latest'}${r.digest ? `@${r.digest}` : ''}`;
}

/** Normalise a name for lookup (`busybox` finds docker.io/library/busybox:latest). */
export function normalizeName(name: string, defaultRegistry = DEFAULT_REGISTRY): string {
  return formatImageRef(parseImageRef(name, defaultRegistry));
}

/** Where the registry's API lives. */
export function registryHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

export type ImageSource =
  | { transport: 'registry'; ref: ImageRef }
  | { transport: 'oci'; path: string; refName?: string }
  | { transport: 'docker-archive'; path: string; refName?: string };

/** `oci:PATH[:REF]`, `oci-archive:PATH[:REF]`, `docker-archive:PATH[:REF]`,
 * `docker://REF`, or a bare reference (a registry). */
export function parseSource(spec: string, defaultRegistry = DEFAULT_REGISTRY): ImageSource {
  const m = /^(oci|oci-archive|docker-archive):(.+)$/.exec(spec);
  if (m) {
    const transport = m[1] === 'docker-archive' ? 'docker-archive' : 'oci';
    // PATH[:REF] split at the first ":", as skopeo and podman do (the REF may hold ":" and "/")
    const body = m[2];
    const colon = body.indexOf(':');
    const p = colon < 0 ? body : body.slice(0, colon);
    const refName = colon < 0 ? undefined : body.slice(colon + 1);
    if (!p) throw new PodrunError('EIMAGE', `${spec}: the path is empty`);
    return { transport, path: p, refName: refName || undefined };
  }
  const ref = spec.startsWith('docker://') ? spec.slice('docker://'.length) : spec;
  return { transport: 'registry', ref: parseImageRef(ref, defaultRegistry) };
}
