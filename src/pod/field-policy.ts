/** What podrun does with each field of a Pod: acts on it, ignores it with a
 * warning (fields that only mean something to a scheduler or API server),
 * or refuses it (real Pod fields podrun does not implement — never
 * silently dropped). Anything else is unknown to Kubernetes too: warned,
 * as kubectl warns. Pure. */

type Policy = { supported: readonly string[]; ignored?: readonly string[]; refused?: readonly string[]; children?: Record<string, string> };

const CONTAINER: Policy = {
  supported: ['name', 'image', 'command', 'args', 'env', 'workingDir', 'ports', 'volumeMounts', 'resources', 'securityContext', 'stdin', 'stdinOnce', 'tty',
    'lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe', 'imagePullPolicy'],
  ignored: ['terminationMessagePath', 'terminationMessagePolicy'],
  refused: ['envFrom', 'volumeDevices', 'resizePolicy', 'restartPolicy'],
  children: { securityContext: 'containerSecurity', lifecycle: 'lifecycle', livenessProbe: 'probe', readinessProbe: 'probe', startupProbe: 'probe', resources: 'resources' },
};

const POLICIES: Record<string, Policy> = {
  pod: { supported: ['apiVersion', 'kind', 'metadata', 'spec'], ignored: ['status'], children: { metadata: 'metadata', spec: 'spec' } },
  metadata: {
    supported: ['name', 'namespace', 'labels', 'annotations'],
    ignored: ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'ownerReferences', 'finalizers', 'generateName', 'selfLink'],
  },
  spec: {
    supported: ['containers', 'initContainers', 'restartPolicy', 'hostname', 'subdomain', 'hostNetwork', 'hostIPC', 'hostPID', 'shareProcessNamespace',
      'dnsPolicy', 'dnsConfig', 'hostAliases', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'securityContext', 'volumes'],
    ignored: ['nodeName', 'nodeSelector', 'affinity', 'tolerations', 'schedulerName', 'priority', 'priorityClassName', 'preemptionPolicy',
      'topologySpreadConstraints', 'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken', 'enableServiceLinks', 'readinessGates',
      'imagePullSecrets', 'overhead'],
    refused: ['ephemeralContainers', 'runtimeClassName', 'os', 'hostUsers', 'setHostnameAsFQDN', 'resourceClaims', 'schedulingGates'],
    children: { securityContext: 'podSecurity' },
  },
  container: CONTAINER,
  containerSecurity: {
    supported: ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'privileged', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'seccompProfile'],
    refused: ['seLinuxOptions', 'appArmorProfile', 'windowsOptions', 'procMount'],
  },
  podSecurity: {
    supported: ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'supplementalGroups', 'sysctls', 'seccompProfile'],
    refused: ['seLinuxOptions', 'appArmorProfile', 'windowsOptions', 'fsGroupChangePolicy', 'supplementalGroupsPolicy'],
  },
  lifecycle: { supported: ['postStart', 'preStop'], refused: ['stopSignal'] },
  probe: {
    supported: ['exec', 'httpGet', 'tcpSocket', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'],
    refused: ['grpc', 'terminationGracePeriodSeconds'],
  },
  resources: { supported: ['requests', 'limits'], refused: ['claims'] },
  volume: {
    supported: ['name', 'emptyDir', 'hostPath', 'configMap', 'secret'],
    refused: ['persistentVolumeClaim', 'projected', 'downwardAPI', 'nfs', 'csi', 'ephemeral', 'iscsi', 'image', 'gitRepo'],
  },
};

export interface FieldReport {
  warnings: string[];
  errors: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(obj: unknown, policyName: string, at: string, out: FieldReport): void {
  if (!isObject(obj)) return;
  const p = POLICIES[policyName];
  for (const key of Object.keys(obj)) {
    const field = at ? `${at}.${key}` : key;
    if (p.refused?.includes(key)) out.errors.push(`${field}: not supported by podrun`);
    else if (p.ignored?.includes(key)) out.warnings.push(`${field}: ignored (it means something only to a cluster)`);
    else if (!p.supported.includes(key)) out.warnings.push(`${field}: unknown field`);
    else if (p.children?.[key]) walk(obj[key], p.children[key], field, out);
  }
}

/** Warnings and errors for every field of a Pod document that podrun does not simply act on. */
export function checkPodFields(doc: unknown): FieldReport {
  const out: FieldReport = { warnings: [], errors: [] };
  walk(doc, 'pod', '', out);
  const spec = isObject(doc) && isObject(doc.spec) ? doc.spec : {};
  for (const kind of ['containers', 'initContainers'] as const) {
    const list = spec[kind];
    if (Array.isArray(list)) list.forEach((c, i) => walk(c, 'container', `spec.${kind}[${i}]`, out));
  }
  if (Array.isArray(spec.volumes)) spec.volumes.forEach((v, i) => walk(v, 'volume', `spec.volumes[${i}]`, out));
  return out;
}
