/** What podrun does with each field of a Pod: acts on it, ignores it with a
 * warning (fields that only mean something to a scheduler or API server),
 * or refuses it (real Pod fields podrun does not implement — never
 * silently dropped). Anything else is unknown to Kubernetes too: refused, as
 * kubectl's default --validate=strict refuses it (a typo'd `comand:` would
 * otherwise run the image's default command), or warned or passed over when
 * asked (--validate=warn|ignore). Pure. */

/** kubectl's --validate: what an unknown field does */
export type ValidationMode = 'strict' | 'warn' | 'ignore';

/** children: fields holding one object, lists: fields holding a list of objects, each checked with the policy named */
type Policy = { supported: readonly string[]; ignored?: readonly string[]; refused?: readonly string[]; children?: Record<string, string>; lists?: Record<string, string> };

const CONTAINER: Policy = {
  supported: ['name', 'image', 'command', 'args', 'env', 'envFrom', 'workingDir', 'ports', 'volumeMounts', 'resources', 'securityContext', 'stdin', 'stdinOnce', 'tty',
    'lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe', 'imagePullPolicy', 'restartPolicy'],
  ignored: ['terminationMessagePath', 'terminationMessagePolicy'],
  refused: ['volumeDevices', 'resizePolicy', 'restartPolicyRules'],
  children: { securityContext: 'containerSecurity', lifecycle: 'lifecycle', livenessProbe: 'probe', readinessProbe: 'probe', startupProbe: 'probe', resources: 'resources' },
  lists: { env: 'envVar', envFrom: 'envFromSource', ports: 'port', volumeMounts: 'volumeMount' },
};

const POLICIES: Record<string, Policy> = {
  pod: { supported: ['apiVersion', 'kind', 'metadata', 'spec'], ignored: ['status'], children: { metadata: 'metadata', spec: 'spec' } },
  metadata: {
    supported: ['name', 'namespace', 'labels', 'annotations'],
    ignored: ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'ownerReferences', 'finalizers', 'generateName', 'selfLink'],
  },
  spec: {
    supported: ['containers', 'initContainers', 'restartPolicy', 'hostname', 'subdomain', 'hostNetwork', 'hostIPC', 'hostPID', 'hostUsers', 'shareProcessNamespace',
      'dnsPolicy', 'dnsConfig', 'hostAliases', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'securityContext', 'volumes', 'os', 'setHostnameAsFQDN'],
    ignored: ['nodeName', 'nodeSelector', 'affinity', 'tolerations', 'schedulerName', 'priority', 'priorityClassName', 'preemptionPolicy',
      'topologySpreadConstraints', 'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken', 'enableServiceLinks', 'readinessGates',
      'imagePullSecrets', 'overhead'],
    refused: ['ephemeralContainers', 'runtimeClassName', 'resourceClaims', 'schedulingGates'],
    children: { securityContext: 'podSecurity', dnsConfig: 'dnsConfig', os: 'podOS' },
    lists: { hostAliases: 'hostAlias' },
  },
  dnsConfig: { supported: ['nameservers', 'searches', 'options'] },
  podOS: { supported: ['name'] },
  hostAlias: { supported: ['ip', 'hostnames'] },
  envVar: { supported: ['name', 'value', 'valueFrom'], children: { valueFrom: 'envVarSource' } },
  envVarSource: {
    supported: ['fieldRef', 'configMapKeyRef', 'secretKeyRef', 'resourceFieldRef'],
    children: { fieldRef: 'fieldRef', configMapKeyRef: 'keyRef', secretKeyRef: 'keyRef', resourceFieldRef: 'resourceFieldRef' },
  },
  resourceFieldRef: { supported: ['resource', 'containerName', 'divisor'] },
  envFromSource: { supported: ['prefix', 'configMapRef', 'secretRef'], children: { configMapRef: 'objectRef', secretRef: 'objectRef' } },
  objectRef: { supported: ['name', 'optional'] },
  fieldRef: { supported: ['fieldPath', 'apiVersion'] },
  keyRef: { supported: ['name', 'key', 'optional'] },
  port: { supported: ['name', 'containerPort', 'hostPort', 'protocol', 'hostIP'] },
  volumeMount: { supported: ['name', 'mountPath', 'readOnly', 'subPath', 'subPathExpr', 'recursiveReadOnly', 'mountPropagation'] },
  capabilities: { supported: ['add', 'drop'] },
  seccompProfile: { supported: ['type', 'localhostProfile'] },
  sysctl: { supported: ['name', 'value'] },
  // tcpSocket is in the API but kubelet never runs it as a hook: refused with that reason (manifest.ts)
  handler: { supported: ['exec', 'httpGet', 'sleep', 'tcpSocket'], children: { exec: 'execAction', httpGet: 'httpGet', sleep: 'sleepAction', tcpSocket: 'tcpSocket' } },
  sleepAction: { supported: ['seconds'] },
  grpcAction: { supported: ['port', 'service'] },
  execAction: { supported: ['command'] },
  httpGet: { supported: ['path', 'port', 'host', 'scheme', 'httpHeaders'], lists: { httpHeaders: 'httpHeader' } },
  httpHeader: { supported: ['name', 'value'] },
  keyToPath: { supported: ['key', 'path', 'mode'] },
  tcpSocket: { supported: ['port', 'host'] },
  emptyDir: { supported: ['medium', 'sizeLimit'] },
  hostPath: { supported: ['path', 'type'] },
  configMapVolume: { supported: ['name', 'items', 'defaultMode', 'optional'], lists: { items: 'keyToPath' } },
  secretVolume: { supported: ['secretName', 'items', 'defaultMode', 'optional'], lists: { items: 'keyToPath' } },
  container: CONTAINER,
  containerSecurity: {
    supported: ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'privileged', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'capabilities', 'seccompProfile', 'procMount'],
    refused: ['seLinuxOptions', 'appArmorProfile', 'windowsOptions'],
    children: { capabilities: 'capabilities', seccompProfile: 'seccompProfile' },
  },
  podSecurity: {
    supported: ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'fsGroupChangePolicy', 'supplementalGroups', 'supplementalGroupsPolicy', 'sysctls', 'seccompProfile'],
    refused: ['seLinuxOptions', 'appArmorProfile', 'windowsOptions'],
    children: { seccompProfile: 'seccompProfile' },
    lists: { sysctls: 'sysctl' },
  },
  lifecycle: { supported: ['postStart', 'preStop', 'stopSignal'], children: { postStart: 'handler', preStop: 'handler' } },
  probe: {
    supported: ['exec', 'httpGet', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'],
    children: { exec: 'execAction', httpGet: 'httpGet', tcpSocket: 'tcpSocket', grpc: 'grpcAction' },
  },
  resources: { supported: ['requests', 'limits'], refused: ['claims'] },
  volume: {
    supported: ['name', 'emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected'],
    refused: ['persistentVolumeClaim', 'nfs', 'csi', 'ephemeral', 'iscsi', 'image', 'gitRepo', 'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs',
      'cinder', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'glusterfs', 'photonPersistentDisk', 'portworxVolume', 'quobyte', 'rbd', 'scaleIO',
      'storageos', 'vsphereVolume'],
    children: { emptyDir: 'emptyDir', hostPath: 'hostPath', configMap: 'configMapVolume', secret: 'secretVolume', downwardAPI: 'downwardAPIVolume', projected: 'projectedVolume' },
  },
  downwardAPIVolume: { supported: ['items', 'defaultMode'], lists: { items: 'downwardItem' } },
  downwardItem: { supported: ['path', 'fieldRef', 'resourceFieldRef', 'mode'], children: { fieldRef: 'fieldRef', resourceFieldRef: 'resourceFieldRef' } },
  projectedVolume: { supported: ['sources', 'defaultMode'], lists: { sources: 'projection' } },
  projection: {
    supported: ['configMap', 'secret', 'downwardAPI'],
    // a token of the cluster's API server: there is none here
    refused: ['serviceAccountToken', 'clusterTrustBundle', 'podCertificate'],
    children: { configMap: 'projectedObject', secret: 'projectedObject', downwardAPI: 'downwardAPIProjection' },
  },
  projectedObject: { supported: ['name', 'items', 'optional'], lists: { items: 'keyToPath' } },
  downwardAPIProjection: { supported: ['items'], lists: { items: 'downwardItem' } },
};

export interface FieldReport {
  warnings: string[];
  errors: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(obj: unknown, policyName: string, at: string, out: FieldReport, mode: ValidationMode): void {
  if (!isObject(obj)) return;
  const p = POLICIES[policyName];
  for (const key of Object.keys(obj)) {
    const field = at ? `${at}.${key}` : key;
    if (p.refused?.includes(key)) out.errors.push(`${field}: not supported by podrun`);
    else if (p.ignored?.includes(key)) out.warnings.push(`${field}: ignored (it means something only to a cluster)`);
    else if (!p.supported.includes(key)) unknownField(field, out, mode);
    else if (p.children?.[key]) walk(obj[key], p.children[key], field, out, mode);
    else if (p.lists?.[key] && Array.isArray(obj[key])) (obj[key] as unknown[]).forEach((item, i) => walk(item, p.lists![key], `${field}[${i}]`, out, mode));
  }
}

function unknownField(field: string, out: FieldReport, mode: ValidationMode): void {
  if (mode === 'strict') out.errors.push(`${field}: unknown field (a Pod has no such field; --validate=warn runs it anyway)`);
  else if (mode === 'warn') out.warnings.push(`${field}: unknown field`);
}

/** Warnings and errors for every field of a Pod document that podrun does not simply act on. */
export function checkPodFields(doc: unknown, mode: ValidationMode = 'strict'): FieldReport {
  const out: FieldReport = { warnings: [], errors: [] };
  walk(doc, 'pod', '', out, mode);
  const spec = isObject(doc) && isObject(doc.spec) ? doc.spec : {};
  for (const kind of ['containers', 'initContainers'] as const) {
    const list = spec[kind];
    if (Array.isArray(list)) list.forEach((c, i) => walk(c, 'container', `spec.${kind}[${i}]`, out, mode));
  }
  if (Array.isArray(spec.volumes)) spec.volumes.forEach((v, i) => walk(v, 'volume', `spec.volumes[${i}]`, out, mode));
  return out;
}
