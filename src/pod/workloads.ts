/**
 * Workload kinds as `podman kube play` runs them on one machine: a Deployment, ReplicaSet, DaemonSet or StatefulSet
 * becomes the pods its controller would make from spec.template (named as the controller names them, with its
 * labels), and a Job's template is what a Job runner starts until enough pods succeed. Pure: names take a random
 * source, so tests can pin them.
 */
import { createHash } from 'node:crypto';

export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const API_VERSION: Record<WorkloadKind, string> = { Deployment: 'apps/v1', ReplicaSet: 'apps/v1', DaemonSet: 'apps/v1', StatefulSet: 'apps/v1', Job: 'batch/v1' };

/** what each kind's spec may hold besides template: acted on, a controller's own business (warned), or refused */
const SPEC_FIELDS: Record<WorkloadKind, { supported: string[]; ignored: string[]; refused: string[] }> = {
  Deployment: { supported: ['replicas', 'selector', 'template'], ignored: ['strategy', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds'], refused: ['paused'] },
  ReplicaSet: { supported: ['replicas', 'selector', 'template'], ignored: ['minReadySeconds'], refused: [] },
  DaemonSet: { supported: ['selector', 'template'], ignored: ['updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'], refused: [] },
  StatefulSet: {
    supported: ['replicas', 'selector', 'template', 'serviceName'], ignored: ['podManagementPolicy', 'updateStrategy', 'revisionHistoryLimit', 'minReadySeconds', 'persistentVolumeClaimRetentionPolicy'],
    refused: ['volumeClaimTemplates', 'ordinals'],
  },
  Job: {
    supported: ['template', 'completions', 'parallelism', 'backoffLimit', 'selector', 'manualSelector', 'completionMode'], ignored: ['ttlSecondsAfterFinished'],
    refused: ['activeDeadlineSeconds', 'suspend', 'podFailurePolicy', 'backoffLimitPerIndex', 'maxFailedIndexes', 'podReplacementPolicy', 'successPolicy', 'managedBy'],
  },
};

export interface Workload {
  kind: WorkloadKind;
  name: string;
  namespace?: string;
  /** spec.template as a Pod document (apiVersion v1, kind Pod, metadata from the template) */
  template: Record<string, unknown>;
  replicas: number;
  /** Job: successes wanted, pods at a time, failures tolerated */
  job?: { completions: number; parallelism: number; backoffLimit: number };
  serviceName?: string;
}

export interface WorkloadReport {
  workload: Workload;
  errors: string[];
  warnings: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function count(spec: Record<string, unknown>, key: string, dflt: number, min: number, errors: string[]): number {
  const v = spec[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    errors.push(`spec.${key}: must be a whole number of at least ${min}`);
    return dflt;
  }
  return v;
}

/** A workload document, checked at its own level (its template is checked as a Pod by the caller). */
export function readWorkload(doc: Record<string, unknown>): WorkloadReport {
  const kind = doc.kind as WorkloadKind;
  const errors: string[] = [];
  const warnings: string[] = [];
  if (doc.apiVersion !== API_VERSION[kind]) errors.push(`apiVersion: ${doc.apiVersion === undefined ? 'missing' : JSON.stringify(doc.apiVersion)}: a ${kind} is ${API_VERSION[kind]}`);
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) errors.push('metadata.name: must be a DNS subdomain (lowercase letters, digits, "-" and ".")');
  const spec = isObject(doc.spec) ? doc.spec : {};
  const fields = SPEC_FIELDS[kind];
  for (const key of Object.keys(spec)) {
    if (fields.refused.includes(key)) errors.push(`spec.${key}: not supported by podrun`);
    else if (fields.ignored.includes(key)) warnings.push(`spec.${key}: ignored (it means something only to a cluster's controller)`);
    else if (!fields.supported.includes(key)) errors.push(`spec.${key}: unknown field`);
  }
  if (kind === 'Job' && spec.completionMode !== undefined && spec.completionMode !== 'NonIndexed') errors.push(`spec.completionMode: ${JSON.stringify(spec.completionMode)} is not supported by podrun (NonIndexed)`);
  const template = isObject(spec.template) ? spec.template : undefined;
  if (!template) errors.push('spec.template: required');
  const tmeta = isObject(template?.metadata) ? template.metadata : {};
  const labels = isObject(tmeta.labels) ? (tmeta.labels as Record<string, string>) : {};
  // the selector must pick the template's pods, as the API server checks (Jobs make their own)
  const selector = isObject(spec.selector) ? spec.selector : undefined;
  if (kind !== 'Job') {
    if (!selector) errors.push('spec.selector: required');
    const wanted = isObject(selector?.matchLabels) ? (selector.matchLabels as Record<string, string>) : {};
    for (const [k, v] of Object.entries(wanted)) if (labels[k] !== v) errors.push(`spec.selector.matchLabels.${k}: does not match spec.template.metadata.labels`);
    if (selector?.matchExpressions !== undefined) errors.push('spec.selector.matchExpressions: not supported by podrun (matchLabels)');
  }
  const tspec = isObject(template?.spec) ? template.spec : {};
  if (kind === 'Job' && tspec.restartPolicy !== 'Never' && tspec.restartPolicy !== 'OnFailure') {
    errors.push('spec.template.spec.restartPolicy: a Job\'s pods must say Never or OnFailure');
  }
  if (kind !== 'Job' && tspec.restartPolicy !== undefined && tspec.restartPolicy !== 'Always') {
    errors.push(`spec.template.spec.restartPolicy: a ${kind}'s pods restart Always`);
  }
  const replicas = kind === 'DaemonSet' ? 1 : kind === 'Job' ? 0 : count(spec, 'replicas', 1, 0, errors);
  const job = kind === 'Job'
    ? { completions: count(spec, 'completions', 1, 1, errors), parallelism: count(spec, 'parallelism', 1, 1, errors), backoffLimit: count(spec, 'backoffLimit', 6, 0, errors) }
    : undefined;
  const podTemplate = { apiVersion: 'v1', kind: 'Pod', metadata: { ...tmeta }, spec: { ...tspec } };
  return {
    workload: {
      kind, name, ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}), template: podTemplate, replicas,
      ...(job ? { job } : {}), ...(typeof spec.serviceName === 'string' ? { serviceName: spec.serviceName } : {}),
    },
    errors, warnings,
  };
}

// the API machinery's "safe" alphabet for generated names: no vowels, no look-alikes
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(random: () => number = Math.random, n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE[Math.floor(random() * SAFE.length)];
  return s;
}

/** pod-template-hash: the template's digest in the safe alphabet (the Deployment controller's, in spirit) */
export function templateHash(template: unknown): string {
  const d = createHash('sha256').update(JSON.stringify(template)).digest();
  let s = '';
  for (let i = 0; i < 10; i++) s += SAFE[d[i] % SAFE.length];
  return s;
}

/** The pods a controller makes for the workload (a Job's first wave is the runner's: see jobPod). */
export function workloadPods(w: Workload, random: () => number = Math.random): Array<Record<string, unknown>> {
  const base = w.template as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const labels = (base.metadata.labels ?? {}) as Record<string, string>;
  const pod = (name: string, extraLabels: Record<string, string>, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { ...base.metadata, name, ...(w.namespace ? { namespace: w.namespace } : {}), labels: { ...labels, ...extraLabels } },
    spec: { ...base.spec, ...spec },
  });
  switch (w.kind) {
    case 'Deployment': {
      const hash = templateHash(w.template);
      return Array.from({ length: w.replicas }, () => pod(`${w.name}-${hash}-${randomSuffix(random)}`, { 'pod-template-hash': hash }));
    }
    case 'ReplicaSet':
    case 'DaemonSet':
      return Array.from({ length: w.replicas }, () => pod(`${w.name}-${randomSuffix(random)}`, {}));
    case 'StatefulSet':
      return Array.from({ length: w.replicas }, (_, i) => pod(`${w.name}-${i}`, { 'statefulset.kubernetes.io/pod-name': `${w.name}-${i}`, 'apps.kubernetes.io/pod-index': String(i) }, {
        hostname: `${w.name}-${i}`, ...(w.serviceName ? { subdomain: w.serviceName } : {}),
      }));
    case 'Job':
      return [];
  }
}

/** One pod of a Job, as the Job controller names and labels it. */
export function jobPod(w: Workload, random: () => number = Math.random): Record<string, unknown> {
  const base = w.template as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { ...base.metadata, name: `${w.name}-${randomSuffix(random)}`, ...(w.namespace ? { namespace: w.namespace } : {}), labels: { ...(base.metadata.labels as Record<string, string> | undefined), 'job-name': w.name, 'batch.kubernetes.io/job-name': w.name } },
    spec: base.spec,
  };
}

/** A Pod path of an error in a template's pod, as the user wrote it in the workload */
export function templatePath(podPath: string): string {
  return podPath.startsWith('spec.') ? `spec.template.${podPath}` : podPath.startsWith('metadata.') ? `spec.template.${podPath}` : podPath;
}
