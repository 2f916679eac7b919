/** A Pod manifest as kubectl takes it (YAML or JSON) → a validated
 * PodManifest plus warnings. Type errors and refused fields fail with the
 * field path; unknown and cluster-only fields are warnings. Pure. */
import { containersAt, userNamespaceErrors } from './user-namespace';
import { isIP } from 'node:net';
import { parseSignal } from '../oci/signals';
import { podHostname } from './pod-names';
import { parseQuantity } from '../cgroup/kube-resources';
import { PodrunError } from '../errors';
import { loadGenerated, type GeneratedModule } from '../util/generated';
import { schemaErrorLines } from '../util/schema-errors';
import { apiServerErrors } from './api-validation';
import { checkPodFields, type ValidationMode } from './field-policy';
import type { PodContainer, PodManifest } from './manifest-schema';
import { addObject, noObjects, type PodObjects } from './pod-objects';
import { isLocalDescendingPath } from '../util/in-root';
import { jobPod, readWorkload, templatePath, WORKLOAD_KINDS, workloadPods, type Workload, type WorkloadKind } from './workloads';

export interface ParsedPod {
  pod: PodManifest;
  warnings: string[];
  /** ConfigMaps and Secrets given with it */
  objects: PodObjects;
  /** a Job's: pod is its template's first pod, the Job runner makes the others */
  job?: Workload;
}

const validator = (): GeneratedModule => loadGenerated('pod/pod-validator.generated.js');

function fail(source: string, lines: string[], field?: string, kind = 'Pod'): never {
  throw new PodrunError('EINVALID_CONFIG', `${source}: invalid ${kind}:\n  ${lines.join('\n  ')}`, { field });
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

/** A Linux signal's full name (SIGTERM), as the API server wants lifecycle.stopSignal. */
const isSignalName = (s: string): boolean => {
  if (!/^SIG[A-Z0-9+-]+$/.test(s)) return false;
  try {
    return parseSignal(s) > 0;
  } catch {
    return false;
  }
};

/** Checks the schema cannot express: unique names, volume references, paths, quantities. */
export function semanticErrors(pod: PodManifest): string[] {
  const errors: string[] = [];
  const spec = pod.spec;
  const all = containersAt(pod);
  errors.push(...apiServerErrors(pod, all));
  errors.push(...userNamespaceErrors(pod, all));
  // kubelet refuses to run a pod whose FQDN hostname the kernel cannot hold
  const hostname = podHostname(pod);
  if (spec.setHostnameAsFQDN && hostname.length > 64) errors.push(`spec.setHostnameAsFQDN: the FQDN ${hostname} is too long (64 characters is the max, ${hostname.length} characters requested)`);
  if (spec.os && spec.os.name !== 'linux') errors.push(`spec.os.name: ${JSON.stringify(spec.os.name)}: podrun runs Linux containers (linux)`);
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
    const kinds = ['emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected'].filter((k) => k in v);
    if (kinds.length !== 1) errors.push(`${at}: exactly one volume source is required (emptyDir, hostPath, configMap, secret, downwardAPI or projected), got ${kinds.length}`);
    const names = all.map(([, c]) => c.name);
    (v.downwardAPI?.items ?? []).forEach((it, j) => errors.push(...downwardItemErrors(it, `${at}.downwardAPI.items[${j}]`, names)));
    (v.projected?.sources ?? []).forEach((src, j) => {
      const sat = `${at}.projected.sources[${j}]`;
      const given = (['configMap', 'secret', 'downwardAPI'] as const).filter((k) => src[k]);
      if (given.length !== 1) errors.push(`${sat}: exactly one of configMap, secret, downwardAPI`);
      for (const k of ['configMap', 'secret'] as const) {
        (src[k]?.items ?? []).forEach((it, n) => {
          if (!isLocalDescendingPath(it.path)) errors.push(`${sat}.${k}.items[${n}].path: must be a relative path without ".."`);
        });
      }
      (src.downwardAPI?.items ?? []).forEach((it, n) => errors.push(...downwardItemErrors(it, `${sat}.downwardAPI.items[${n}]`, names)));
    });
    if (v.hostPath && !v.hostPath.path.startsWith('/')) errors.push(`${at}.hostPath.path: must be absolute`);
    if (v.emptyDir?.sizeLimit !== undefined) {
      const size = quantityOrError(v.emptyDir.sizeLimit, `${at}.emptyDir.sizeLimit`);
      if (typeof size === 'string') errors.push(size);
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
      if (m.subPathExpr !== undefined) {
        if (m.subPath) errors.push(`${mat}.subPathExpr: subPathExpr and subPath are mutually exclusive`);
        else if (!isLocalDescendingPath(m.subPathExpr)) errors.push(`${mat}.subPathExpr: must be a relative path without ".."`);
      }
      // the API server's rules for recursiveReadOnly (Kubernetes 1.30+)
      if (m.recursiveReadOnly === 'IfPossible' || m.recursiveReadOnly === 'Enabled') {
        if (m.readOnly !== true) errors.push(`${mat}.recursiveReadOnly: may only be specified when readOnly is true`);
        if (m.mountPropagation && m.mountPropagation !== 'None') errors.push(`${mat}.recursiveReadOnly: may only be specified when mountPropagation is None or not specified`);
      }
      // mounts made in the container reach the host: the API server keeps that to privileged containers
      if (m.mountPropagation === 'Bidirectional' && c.securityContext?.privileged !== true) {
        errors.push(`${mat}.mountPropagation: Bidirectional mount propagation is available only to privileged containers`);
      }
    });
    (c.env ?? []).forEach((e, j) => {
      const eat = `${at}.env[${j}]`;
      if (e.value !== undefined && e.valueFrom) errors.push(`${eat}: value and valueFrom are exclusive`);
      const fp = e.valueFrom?.fieldRef?.fieldPath;
      const sources = ['fieldRef', 'configMapKeyRef', 'secretKeyRef', 'resourceFieldRef'].filter((k) => e.valueFrom && k in e.valueFrom);
      if (e.valueFrom && sources.length !== 1) errors.push(`${eat}.valueFrom: exactly one of fieldRef, configMapKeyRef, secretKeyRef, resourceFieldRef`);
      if (fp && !isSupportedFieldRef(fp)) errors.push(`${eat}.valueFrom.fieldRef.fieldPath: ${JSON.stringify(fp)} is not supported (${SUPPORTED_FIELD_REFS.join(', ')}, metadata.labels['KEY'], metadata.annotations['KEY'])`);
      const rf = e.valueFrom?.resourceFieldRef;
      if (rf) {
        if (!RESOURCE_FIELD_REFS.includes(rf.resource)) errors.push(`${eat}.valueFrom.resourceFieldRef.resource: ${JSON.stringify(rf.resource)} is not supported (${RESOURCE_FIELD_REFS.join(', ')})`);
        if (rf.containerName !== undefined && !all.some(([, k]) => k.name === rf.containerName)) errors.push(`${eat}.valueFrom.resourceFieldRef.containerName: no container named ${JSON.stringify(rf.containerName)}`);
        if (rf.divisor !== undefined) {
          try {
            if (!(parseQuantity(rf.divisor, '') > 0)) errors.push(`${eat}.valueFrom.resourceFieldRef.divisor: must be greater than 0`);
          } catch {
            errors.push(`${eat}.valueFrom.resourceFieldRef.divisor: ${JSON.stringify(rf.divisor)} is not a Kubernetes quantity`);
          }
        }
      }
    });
    (c.envFrom ?? []).forEach((src, j) => {
      const sat = `${at}.envFrom[${j}]`;
      if ((src.configMapRef ? 1 : 0) + (src.secretRef ? 1 : 0) !== 1) errors.push(`${sat}: exactly one of configMapRef, secretRef`);
    });
    errors.push(...resourceErrors(`${at}.resources`, c.resources));
    const init = at.startsWith('spec.initContainers');
    const stopSignal = c.lifecycle?.stopSignal;
    if (stopSignal !== undefined) {
      if (!pod.spec.os?.name) errors.push(`${at}.lifecycle.stopSignal: may not be set for containers with empty \`spec.os.name\``);
      else if (!isSignalName(stopSignal)) errors.push(`${at}.lifecycle.stopSignal: ${JSON.stringify(stopSignal)} is not a Linux signal name (SIGTERM, SIGQUIT, …)`);
    }
    if (!init && c.restartPolicy) errors.push(`${at}.restartPolicy: may not be set for non-init containers`);
    // a sidecar (an init container restarted Always) may have hooks and probes; a one-shot init container not
    if (init && !c.restartPolicy && c.lifecycle) errors.push(`${at}.lifecycle: must not be set for init containers (unless restartPolicy: Always)`);
    for (const h of ['postStart', 'preStop'] as const) {
      const hook = c.lifecycle?.[h];
      if (!hook) continue;
      const kinds = (['exec', 'httpGet', 'sleep', 'tcpSocket'] as const).filter((k) => hook[k] !== undefined);
      if (kinds.length !== 1) errors.push(`${at}.lifecycle.${h}: exactly one handler is required (exec, httpGet or sleep), got ${kinds.length}`);
      else if (hook.tcpSocket) errors.push(`${at}.lifecycle.${h}.tcpSocket: not a hook kubelet runs (kept in the API for compatibility only); use exec, httpGet or sleep`);
      const port = hook.httpGet?.port;
      if (typeof port === 'string' && !(c.ports ?? []).some((cp) => cp.name === port)) errors.push(`${at}.lifecycle.${h}.httpGet.port: ${JSON.stringify(port)} is not one of the container's named ports`);
    }
    if (c.readinessProbe?.terminationGracePeriodSeconds !== undefined) errors.push(`${at}.readinessProbe.terminationGracePeriodSeconds: must not be set for readinessProbes`);
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const probe = c[p];
      if (!probe) continue;
      const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => probe[h as keyof typeof probe] !== undefined);
      if (handlers.length !== 1) errors.push(`${at}.${p}: exactly one handler is required (exec, httpGet, tcpSocket or grpc), got ${handlers.length}`);
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

export const SUPPORTED_FIELD_REFS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'status.podIP', 'status.podIPs', 'status.hostIP', 'status.hostIPs', 'spec.nodeName', 'spec.serviceAccountName'];
/** metadata.labels['KEY'] / metadata.annotations['KEY'], as the API server takes them for env */
export const LABEL_FIELD_REF = /^metadata\.(labels|annotations)\['([^']+)'\]$/;
const isSupportedFieldRef = (fp: string): boolean => SUPPORTED_FIELD_REFS.includes(fp) || LABEL_FIELD_REF.test(fp);
export const RESOURCE_FIELD_REFS = ['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage'];

/** fieldRefs a downwardAPI volume's files may hold: the pod's own, and all its labels or annotations */
export const DOWNWARD_VOLUME_FIELDS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations'];

function downwardItemErrors(it: { path: string; fieldRef?: { fieldPath: string }; resourceFieldRef?: { resource: string; containerName?: string } }, at: string, containers: string[]): string[] {
  const errors: string[] = [];
  if (!isLocalDescendingPath(it.path)) errors.push(`${at}.path: must be a relative path without ".."`);
  if ((it.fieldRef ? 1 : 0) + (it.resourceFieldRef ? 1 : 0) !== 1) errors.push(`${at}: exactly one of fieldRef, resourceFieldRef`);
  const fp = it.fieldRef?.fieldPath;
  if (fp !== undefined && !DOWNWARD_VOLUME_FIELDS.includes(fp) && !LABEL_FIELD_REF.test(fp)) {
    errors.push(`${at}.fieldRef.fieldPath: ${JSON.stringify(fp)} is not supported in a volume (${DOWNWARD_VOLUME_FIELDS.join(', ')}, metadata.labels['KEY'], metadata.annotations['KEY'])`);
  }
  const rf = it.resourceFieldRef;
  if (rf && !RESOURCE_FIELD_REFS.includes(rf.resource)) errors.push(`${at}.resourceFieldRef.resource: ${JSON.stringify(rf.resource)} is not supported (${RESOURCE_FIELD_REFS.join(', ')})`);
  if (rf && rf.containerName === undefined) errors.push(`${at}.resourceFieldRef.containerName: required in a volume`);
  else if (rf && !containers.includes(rf.containerName!)) errors.push(`${at}.resourceFieldRef.containerName: no container named ${JSON.stringify(rf.containerName)}`);
  return errors;
}

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

export function parsePodManifest(text: string, source = 'pod manifest', o: { validate?: ValidationMode } = {}): ParsedPod {
  const pods = parsePodManifests(text, source, o);
  if (pods.length > 1) throw new PodrunError('EINVALID_CONFIG', `${source}: ${pods.length} Pods where one is expected`);
  return pods[0];
}

/** Every Pod of a file (YAML documents or a List), each with the file's ConfigMaps and Secrets, and the pods of its
 * workloads (Deployment, ReplicaSet, DaemonSet, StatefulSet; a Job's first): all checked before any is returned. */
export function parsePodManifests(text: string, source = 'pod manifest', o: { validate?: ValidationMode; random?: () => number } = {}): ParsedPod[] {
  const objects = noObjects();
  /** quiet: a workload's later pods (its warnings are said with its first) */
  const docs: Array<{ doc: Record<string, unknown>; at: string; workload?: Workload; warnings: string[]; fromTemplate?: boolean; quiet?: boolean }> = [];
  const all = documents(text, source);
  all.forEach((d, i) => {
    const at = all.length > 1 ? `${source} (document ${i + 1})` : source;
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new PodrunError('EINVALID_CONFIG', `${at}: expected an object`);
    const kind = (d as { kind?: unknown }).kind;
    if (kind === 'ConfigMap' || kind === 'Secret') return addObject(objects, d as Record<string, unknown>, at);
    if (WORKLOAD_KINDS.includes(kind as WorkloadKind)) {
      const r = readWorkload(d as Record<string, unknown>);
      if (r.errors.length) fail(at, r.errors.slice(0, 10), r.errors[0].split(':')[0], kind as string);
      // the template is checked once, as a Pod, its errors in the workload's terms
      const template = { ...r.workload.template, metadata: { ...(r.workload.template.metadata as object), name: r.workload.name } };
      const checked = checkPod(template, at, o.validate, templatePath, kind as string);
      const pods = kind === 'Job' ? [jobPod(r.workload, o.random)] : workloadPods(r.workload, o.random);
      const warnings = [...r.warnings.map((w) => `${at}: ${w}`), ...checked.warnings];
      pods.forEach((pod, n) => docs.push({ doc: pod, at, workload: kind === 'Job' ? r.workload : undefined, warnings, fromTemplate: true, quiet: n > 0 }));
      return;
    }
    if (kind !== undefined && kind !== 'Pod') throw new PodrunError('EINVALID_CONFIG', `${at}: kind ${JSON.stringify(kind)}: podrun runs Pods, ${WORKLOAD_KINDS.join(', ')}, with the ConfigMaps and Secrets they use`, { field: 'kind' });
    docs.push({ doc: d as Record<string, unknown>, at, warnings: [] });
  });
  if (docs.length === 0) throw new PodrunError('EINVALID_CONFIG', `${source}: expected a Pod object`);
  const names = new Map<string, string>();
  return docs.map(({ doc, at, workload, warnings, fromTemplate, quiet }) => {
    const { pod, warnings: own } = checkPod(doc, at, o.validate, fromTemplate ? templatePath : undefined);
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    if (names.has(key)) throw new PodrunError('EINVALID_CONFIG', `${at}: metadata.name: Pod ${pod.metadata.name} is also ${names.get(key)}`, { field: 'metadata.name' });
    names.set(key, at);
    // a workload's pods share its template: its warnings are said once, with the first
    return { pod, warnings: quiet ? [] : fromTemplate ? warnings : own, objects, ...(workload ? { job: workload } : {}) };
  });
}

/** One Pod document checked: the schema, podrun's field policy, what the API server checks; errors named by mapPath. */
function checkPod(doc: unknown, at: string, validate: ValidationMode | undefined, mapPath: (p: string) => string = (p) => p, kind = 'Pod'): { pod: PodManifest; warnings: string[] } {
  const mapLine = (l: string): string => {
    const i = l.indexOf(':');
    return i > 0 ? `${mapPath(l.slice(0, i))}${l.slice(i)}` : l;
  };
  const v = validator();
  if (!v.default(doc)) {
    const { lines, first } = schemaErrorLines(v.default.errors ?? [], v.patternMessages);
    fail(at, lines.map(mapLine), first && mapPath(first), kind);
  }
  const pod = doc as PodManifest;
  const report = checkPodFields(doc, validate);
  const errors = [...report.errors, ...semanticErrors(pod)].map(mapLine);
  if (errors.length > 0) fail(at, errors.slice(0, 10), errors[0].split(':')[0], kind);
  return { pod, warnings: report.warnings.map((w) => `${at}: ${mapLine(w)}`) };
}

/** Fields the schema accepts (they are valid Kubernetes) but the pod
 * runtime does not implement yet: refused, with their paths. */
export function notYetImplemented(pod: PodManifest): string[] {
  const out: string[] = [];
  const lists: Array<[string, PodContainer[] | undefined]> = [['spec.initContainers', pod.spec.initContainers], ['spec.containers', pod.spec.containers]];
  for (const [at, list] of lists) {
    (list ?? []).forEach((c, i) => {
      // probes of a one-shot init container (a sidecar's are run)
      if (list === pod.spec.initContainers && !c.restartPolicy) for (const f of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) if (c[f]) out.push(`${at}[${i}].${f}`);
    });
  }
  return out;
}
