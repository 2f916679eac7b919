/** What the Kubernetes API server checks of a Pod before it exists, for the
 * fields podrun turns into files and processes: names and addresses that go
 * into /etc/hosts and resolv.conf (a newline in them would add lines of the
 * pod author's choosing), env names, hostPath types, mount paths, the size
 * of annotations. Pure: each returns error lines naming the field. */
import { isIP } from 'node:net';
import { HOST_PATH_TYPES } from './host-path';
import type { PodContainer, PodManifest } from './manifest-schema';

/** RFC 1123 subdomain, as the API server's IsDNS1123Subdomain */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** a search domain may also end with a dot, and need not be lower-case (validateDNSSearches) */
const SEARCH_DOMAIN = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\.?$/;
/** IsEnvVarName */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** a resolv.conf option: no white space or control characters (they would split the line) */
const RESOLV_OPTION = /^[^\s\x00-\x1f\x7f]+$/;

/** the API server's totalAnnotationSizeLimitB */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;

function subdomainError(field: string, v: string): string | undefined {
  if (v.length > 253 || !DNS1123_SUBDOMAIN.test(v)) {
    return `${field}: ${JSON.stringify(v)} must be a lower-case RFC 1123 subdomain (a-z, 0-9, "-" and "." between labels, at most 253 characters)`;
  }
  return undefined;
}

export function hostAliasErrors(pod: PodManifest): string[] {
  const errors: string[] = [];
  (pod.spec.hostAliases ?? []).forEach((a, i) => {
    if (!isIP(a.ip)) errors.push(`spec.hostAliases[${i}].ip: ${JSON.stringify(a.ip)} must be a valid IP address`);
    (a.hostnames ?? []).forEach((h, j) => {
      const e = subdomainError(`spec.hostAliases[${i}].hostnames[${j}]`, h);
      if (e) errors.push(e);
    });
  });
  return errors;
}

export function dnsConfigErrors(pod: PodManifest): string[] {
  const errors: string[] = [];
  const c = pod.spec.dnsConfig;
  if (!c) return errors;
  const ns = c.nameservers ?? [];
  if (ns.length > MAX_NAMESERVERS) errors.push(`spec.dnsConfig.nameservers: must not have more than ${MAX_NAMESERVERS} nameservers, got ${ns.length}`);
  ns.forEach((n, i) => {
    if (!isIP(n)) errors.push(`spec.dnsConfig.nameservers[${i}]: ${JSON.stringify(n)} must be a valid IP address`);
  });
  const searches = c.searches ?? [];
  if (searches.length > MAX_SEARCHES) errors.push(`spec.dnsConfig.searches: must not have more than ${MAX_SEARCHES} search paths, got ${searches.length}`);
  if (searches.join(' ').length > MAX_SEARCH_CHARS) errors.push(`spec.dnsConfig.searches: must not have more than ${MAX_SEARCH_CHARS} characters (including spaces) in the search list`);
  searches.forEach((s, i) => {
    if (s.length > 253 || !SEARCH_DOMAIN.test(s)) errors.push(`spec.dnsConfig.searches[${i}]: ${JSON.stringify(s)} must be a valid DNS search domain`);
  });
  (c.options ?? []).forEach((o, i) => {
    if (!o.name) errors.push(`spec.dnsConfig.options[${i}].name: required`);
    else if (!RESOLV_OPTION.test(o.name)) errors.push(`spec.dnsConfig.options[${i}].name: ${JSON.stringify(o.name)} must not contain white space or control characters`);
    if (o.value !== undefined && o.value !== '' && !RESOLV_OPTION.test(o.value)) errors.push(`spec.dnsConfig.options[${i}].value: ${JSON.stringify(o.value)} must not contain white space or control characters`);
  });
  return errors;
}

export function annotationErrors(pod: PodManifest): string[] {
  const annotations = pod.metadata.annotations ?? {};
  const bytes = Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  return bytes > ANNOTATIONS_MAX_BYTES ? [`metadata.annotations: may not be more than ${ANNOTATIONS_MAX_BYTES} bytes (256 KiB) in total, got ${bytes}`] : [];
}

export function hostPathTypeErrors(pod: PodManifest): string[] {
  const errors: string[] = [];
  (pod.spec.volumes ?? []).forEach((v, i) => {
    const type = v.hostPath?.type;
    if (type !== undefined && !HOST_PATH_TYPES.includes(type)) {
      errors.push(`spec.volumes[${i}].hostPath.type: ${JSON.stringify(type)} is not one of ${HOST_PATH_TYPES.filter(Boolean).join(', ')} or ""`);
    }
  });
  return errors;
}

/** env names and mount paths of one container (at: its field path) */
export function containerApiErrors(at: string, c: PodContainer): string[] {
  const errors: string[] = [];
  (c.env ?? []).forEach((e, j) => {
    if (!ENV_NAME.test(e.name)) errors.push(`${at}.env[${j}].name: ${JSON.stringify(e.name)} must consist of letters, digits, "_", "-" or ".", and must not start with a digit`);
  });
  const paths = new Map<string, number>();
  (c.volumeMounts ?? []).forEach((m, j) => {
    const mat = `${at}.volumeMounts[${j}].mountPath`;
    if (/[\x00-\x1f]/.test(m.mountPath)) errors.push(`${mat}: ${JSON.stringify(m.mountPath)} must not contain control characters`);
    const normal = m.mountPath.replace(/\/+$/, '') || '/';
    const prev = paths.get(normal);
    if (prev !== undefined) errors.push(`${mat}: ${JSON.stringify(m.mountPath)} must be unique (also ${at}.volumeMounts[${prev}].mountPath)`);
    paths.set(normal, j);
  });
  return errors;
}

/** Everything above, for a whole Pod. */
export function apiServerErrors(pod: PodManifest, containers: Array<[string, PodContainer]>): string[] {
  return [
    ...annotationErrors(pod), ...hostAliasErrors(pod), ...dnsConfigErrors(pod), ...hostPathTypeErrors(pod),
    ...containers.flatMap(([at, c]) => containerApiErrors(at, c)),
  ];
}
