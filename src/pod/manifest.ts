/** A Pod manifest as kubectl takes it (YAML or JSON) → a validated
 * PodManifest plus warnings. Type errors and refused fields fail with the
 * field path; unknown and cluster-only fields are warnings. Pure. */
import { isIP } from 'node:net';
import { parseQuantity } from '../cgroup/kube-resources';
import { PodrunError } from '../errors';
import { loadGenerated, type GeneratedModule } from '../util/generated';
import { schemaErrorLines } from '../util/schema-errors';
import { apiServerErrors } from './api-validation';
import { checkPodFields } from './field-policy';
import type { PodContainer, PodManifest } from './manifest-schema';
import { addObject, noObjects, type PodObjects } from './pod-objects';
import { isLocalDescendingPath } from '../util/in-root';

export interface ParsedPod {
  pod: PodManifest;
  warnings: string[];
  /** ConfigMaps and Secrets given with it */
  objects: PodObjects;
}

const validator = (): GeneratedModule => loadGenerated('pod/pod-validator.generated.js');

function fail(source: string, lines: string[], field?: string): never {
  throw new PodrunError('EINVALID_CONFIG', `${source}: invalid Pod:\n  ${lines.join('\n  ')}`, { field });
}

/** a quantity's value, or the error line naming the field */
function quantityOrError(q: string | number, field: string): number | string {
  try {
    const n = parseQuantity(q, field);
    return n < 0 ? `${field}: must be greater than or equal to 0` : n;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Every request and limit a quantity ≥ 0, and no request above its limit (as the API server checks). */
function resourceErrors(at: string, r: PodContainer['resources']): string[] {
  const errors: string[] = [];
  const values = (kind: 'requests' | 'limits'): Map<string, number> => {
    const out = new Map<string, number>();
    for (const [k, q] of Object.entries(r?.[kind] ?? {})) {
      const v = quantityOrError(q, `${at}.${kind}.${k}`);
      if (typeof v === 'string') errors.push(v);
      else out.set(k, v);
    }
    return out;
  };
  const [requests, limits] = [values('requests'), values('limits')];
  for (const [k, req] of requests) {
    const lim = limits.get(k);
    if (lim !== undefined && req > lim) errors.push(`${at}.requests.${k}: ${JSON.stringify(r?.requests?.[k])} must be less than or equal to the ${k} limit (${JSON.stringify(r?.limits?.[k])})`);
  }
  return errors;
}

/** Checks the schema cannot express: unique names, volume references, paths, quantities. */
export function semanticErrors(pod: PodManifest): string[] {
  const errors: string[] = [];
  const spec = pod.spec;
  const all: Array<[string, PodContainer]> = [
    ...(spec.initContainers ?? []).map((c, i): [string, PodContainer] => [`spec.initContainers[${i}]`, c]),
    ...spec.containers.map((c, i): [string, PodContainer] => [`spec.containers[${i}]`, c]),
  ];
  errors.push(...apiServerErrors(pod, all));
  const seen = new Map<string, string>();
  for (const [at, c] of all) {
    const prev = seen.get(c.name);
    if (prev) errors.push(`${at}.name: ${JSON.stringify(c.name)} is already used by ${prev}`);
    seen.set(c.name, at);
  }
  const volumes = new Map<string, string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const at = `spec.volumes[${i}]`;
    if (volumes.has(v.name)) errors.push(`${at}.name: ${JSON.stringify(v.name)} is declared twice`);
    volumes.set(v.name, at);
    const kinds = ['emptyDir', 'hostPath', 'configMap', 'secret'].filter((k) => k in v);
    if (kinds.length !== 1) errors.push(`${at}: exactly one volume source is required (emptyDir, hostPath, configMap or secret), got ${kinds.length}`);
    if (v.hostPath && !v.hostPath.path.startsWith('/')) errors.push(`${at}.hostPath.path: must be absolute`);
    if (v.emptyDir?.sizeLimit !== undefined) {
      const size = quantityOrError(v.emptyDir.sizeLimit, `${at}.emptyDir.sizeLimit`);
      if (typeof size === 'string') errors.push(size);
      // kubelet evicts a pod whose disk emptyDir outgrows it; podrun cannot yet, so it says so rather than ignore it
      else if (v.emptyDir.medium !== 'Memory') errors.push(`${at}.emptyDir.sizeLimit: not enforced by podrun on a disk-backed emptyDir yet: use medium: Memory (a tmpfs of that size), or leave it out`);
    }
    const src = v.configMap ? 'configMap' : v.secret ? 'secret' : undefined;
    (src ? (v[src]?.items ?? []) : []).forEach((it, j) => {
      if (!isLocalDescendingPath(it.path)) errors.push(`${at}.${src}.items[${j}].path: must be a relative path without ".."`);
    });
  });
  for (const [at, c] of all) {
    (c.volumeMounts ?? []).forEach((m, j) => {
      const mat = `${at}.volumeMounts[${j}]`;
      if (!volumes.has(m.name)) errors.push(`${mat}.name: no volume named ${JSON.stringify(m.name)} in spec.volumes`);
      if (!m.mountPath.startsWith('/')) errors.push(`${mat}.mountPath: must be absolute`);
      if (m.subPath !== undefined && !isLocalDescendingPath(m.subPath)) {
        errors.push(`${mat}.subPath: must be a relative path without ".."`);
      }
    });
    (c.env ?? []).forEach((e, j) => {
      const eat = `${at}.env[${j}]`;
      if (e.value !== undefined && e.valueFrom) errors.push(`${eat}: value and valueFrom are exclusive`);
      const fp = e.valueFrom?.fieldRef?.fieldPath;
      const sources = ['fieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => e.valueFrom && k in e.valueFrom);
      if (e.valueFrom && sources.length !== 1) errors.push(`${eat}.valueFrom: exactly one of fieldRef, configMapKeyRef, secretKeyRef is supported`);
      if (fp && !SUPPORTED_FIELD_REFS.includes(fp)) errors.push(`${eat}.valueFrom.fieldRef.fieldPath: ${JSON.stringify(fp)} is not supported (${SUPPORTED_FIELD_REFS.join(', ')})`);
    });
    errors.push(...resourceErrors(`${at}.resources`, c.resources));
    if (at.startsWith('spec.initContainers') && c.lifecycle) errors.push(`${at}.lifecycle: must not be set for init containers`);
    for (const h of ['postStart', 'preStop'] as const) {
      if (c.lifecycle?.[h] && !c.lifecycle[h]?.exec) errors.push(`${at}.lifecycle.${h}: only exec handlers are supported (not httpGet, tcpSocket or sleep)`);
    }
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const probe = c[p];
      if (!probe) continue;
      const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => probe[h as keyof typeof probe] !== undefined);
      if (handlers.length !== 1) errors.push(`${at}.${p}: exactly one handler is required (exec, httpGet or tcpSocket), got ${handlers.length}`);
      const net = probe.httpGet ? 'httpGet' : probe.tcpSocket ? 'tcpSocket' : undefined;
      const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
      if (net && typeof port === 'string' && !(c.ports ?? []).some((cp) => cp.name === port)) {
        errors.push(`${at}.${p}.${net}.port: ${JSON.stringify(port)} is not the name of one of the container's ports`);
      }
      const host = probe.httpGet?.host ?? probe.tcpSocket?.host;
      if (net && host !== undefined && !isIP(host)) errors.push(`${at}.${p}.${net}.host: must be an IP address (podrun does not resolve names for probes)`);
    }
    if (c.securityContext?.seccompProfile?.type === 'Localhost' && !c.securityContext.seccompProfile.localhostProfile) {
      errors.push(`${at}.securityContext.seccompProfile.localhostProfile: required for type Localhost`);
    }
  }
  return errors;
}

export const SUPPORTED_FIELD_REFS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'status.podIP', 'status.hostIP', 'spec.nodeName'];

/** The documents of a file: YAML documents separated by ---, a JSON object, or a v1 List's items. */
function documents(text: string, source: string): unknown[] {
  // YAML 1.1 as kubectl reads it (sigs.k8s.io/yaml): 0400 is octal, as a defaultMode is written; JSON is YAML too
  // loaded here, not at import: ps, logs, rm … import this module too
  const { parseAllDocuments } = require('yaml') as typeof import('yaml');
  const docs = parseAllDocuments(text, { version: '1.1', strict: true, uniqueKeys: true });
  const out: unknown[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length) throw new PodrunError('EINVALID_CONFIG', `${source}: not valid YAML or JSON: ${d.errors[0].message}`, { cause: d.errors[0] });
    const v: unknown = d.toJS();
    if (v === null || v === undefined) continue; // an empty document (a trailing ---)
    const list = v as { kind?: unknown; items?: unknown };
    if (list.kind === 'List' && Array.isArray(list.items)) out.push(...list.items);
    else out.push(v);
  }
  return out;
}

export function parsePodManifest(text: string, source = 'pod manifest'): ParsedPod {
  const objects = noObjects();
  let doc: unknown;
  documents(text, source).forEach((d, i) => {
    const at = `${source} (document ${i + 1})`;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new PodrunError('EINVALID_CONFIG', `${at}: expected an object`);
    const kind = (d as { kind?: unknown }).kind;
    if (kind === 'ConfigMap' || kind === 'Secret') return addObject(objects, d as Record<string, unknown>, at);
    if (kind !== undefined && kind !== 'Pod') throw new PodrunError('EINVALID_CONFIG', `${source}: kind ${JSON.stringify(kind)}: podrun runs Pods (with the ConfigMaps and Secrets they use)`, { field: 'kind' });
    if (doc !== undefined) throw new PodrunError('EINVALID_CONFIG', `${source}: more than one Pod: podrun starts one Pod per file`);
    doc = d;
  });
  if (doc === undefined) throw new PodrunError('EINVALID_CONFIG', `${source}: expected one Pod object`);
  const { default: validate, patternMessages } = validator();
  if (!validate(doc)) {
    const { lines, first } = schemaErrorLines(validate.errors ?? [], patternMessages);
    fail(source, lines, first);
  }
  const pod = doc as PodManifest;
  const report = checkPodFields(doc);
  const errors = [...report.errors, ...semanticErrors(pod)];
  if (errors.length > 0) fail(source, errors.slice(0, 10), errors[0].split(':')[0]);
  return { pod, warnings: report.warnings.map((w) => `${source}: ${w}`), objects };
}

/** Fields the schema accepts (they are valid Kubernetes) but the pod
 * runtime does not implement yet: refused, with their paths. */
export function notYetImplemented(pod: PodManifest): string[] {
  const out: string[] = [];
  const lists: Array<[string, PodContainer[] | undefined]> = [['spec.initContainers', pod.spec.initContainers], ['spec.containers', pod.spec.containers]];
  for (const [at, list] of lists) {
    (list ?? []).forEach((c, i) => {
      if (list === pod.spec.initContainers) for (const f of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) if (c[f]) out.push(`${at}[${i}].${f}`);
      for (const f of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) if (c[f]?.httpGet?.scheme === 'HTTPS') out.push(`${at}[${i}].${f}.httpGet.scheme`);
    });
  }
  return out;
}
