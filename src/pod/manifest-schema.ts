/** zod schema of the Kubernetes v1 Pod fields podrun acts on. Types are
 * checked here; which fields podrun supports, ignores or refuses is decided
 * by field-policy.ts. Compiled to an ajv validator at build time. */
import { z } from 'zod';

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const PATTERN_MESSAGES: Record<string, string> = {
  [DNS_LABEL]: 'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  '^(?!\\.\\.?$)[-._a-zA-Z0-9]+$': 'keys hold only letters, digits, "-", "_" and ".", and are not "." or ".."',
  '^[A-Za-z0-9+/]*={0,2}$': 'must be base64',
};
const label = z.string().min(1).max(63).regex(new RegExp(DNS_LABEL));
const quantity = z.union([z.string(), z.number()]);

const envVar = z.looseObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z.looseObject({
    fieldRef: z.looseObject({ fieldPath: z.string(), apiVersion: z.string().optional() }).optional(),
    configMapKeyRef: z.looseObject({ name: z.string().min(1), key: z.string().min(1), optional: z.boolean().optional() }).optional(),
    secretKeyRef: z.looseObject({ name: z.string().min(1), key: z.string().min(1), optional: z.boolean().optional() }).optional(),
    resourceFieldRef: z.looseObject({ resource: z.string().min(1), containerName: z.string().optional(), divisor: z.union([z.string(), z.number()]).optional() }).optional(),
  }).optional(),
});

const objectRef = z.looseObject({ name: z.string().min(1), optional: z.boolean().optional() });
const envFromSource = z.looseObject({ prefix: z.string().optional(), configMapRef: objectRef.optional(), secretRef: objectRef.optional() });

const execAction = z.looseObject({ command: z.array(z.string()).min(1) });
/** a port number, or the name of one of the container's ports */
const probePort = z.union([z.number().int().min(1).max(65535), z.string().min(1)]);
const httpGetAction = z.looseObject({
  path: z.string().optional(),
  port: probePort,
  host: z.string().optional(),
  scheme: z.enum(['HTTP', 'HTTPS']).optional(),
  httpHeaders: z.array(z.looseObject({ name: z.string().min(1), value: z.string() })).optional(),
});
const tcpSocketAction = z.looseObject({ port: probePort, host: z.string().optional() });
/** a lifecycle hook: exec in the container, a GET in the pod's network, or a pause (Kubernetes 1.29+) */
const lifecycleHandler = z.looseObject({
  exec: execAction.optional(),
  httpGet: httpGetAction.optional(),
  tcpSocket: tcpSocketAction.optional(),
  sleep: z.looseObject({ seconds: z.number().int().min(0) }).optional(),
});
const probe = z.looseObject({
  exec: execAction.optional(),
  httpGet: httpGetAction.optional(),
  tcpSocket: tcpSocketAction.optional(),
  /** grpc.health.v1 Check of `service` on `port` (a number: gRPC probes take no named ports) */
  grpc: z.looseObject({ port: z.number().int().min(1).max(65535), service: z.string().optional() }).optional(),
  initialDelaySeconds: z.number().int().min(0).optional(),
  periodSeconds: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  successThreshold: z.number().int().min(1).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  /** the grace of the kill when this (liveness or startup) probe gives up, over the pod's */
  terminationGracePeriodSeconds: z.number().int().min(1).optional(),
});

const capabilities = z.looseObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() });
const seccompProfile = z.looseObject({ type: z.enum(['RuntimeDefault', 'Unconfined', 'Localhost']), localhostProfile: z.string().optional() });

export const containerSchema = z.looseObject({
  name: label,
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVar).optional(),
  envFrom: z.array(envFromSource).optional(),
  workingDir: z.string().optional(),
  ports: z.array(z.looseObject({
    containerPort: z.number().int().min(1).max(65535),
    hostPort: z.number().int().min(1).max(65535).optional(),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
    name: z.string().optional(),
    hostIP: z.string().optional(),
  })).optional(),
  volumeMounts: z.array(z.looseObject({
    name: z.string().min(1),
    mountPath: z.string().min(1),
    readOnly: z.boolean().optional(),
    subPath: z.string().optional(),
    subPathExpr: z.string().optional(),
    recursiveReadOnly: z.enum(['Disabled', 'IfPossible', 'Enabled']).optional(),
    mountPropagation: z.enum(['None', 'HostToContainer', 'Bidirectional']).optional(),
  })).optional(),
  resources: z.looseObject({
    requests: z.record(z.string(), quantity).optional(),
    limits: z.record(z.string(), quantity).optional(),
  }).optional(),
  securityContext: z.looseObject({
    runAsUser: z.number().int().min(0).optional(),
    runAsGroup: z.number().int().min(0).optional(),
    runAsNonRoot: z.boolean().optional(),
    privileged: z.boolean().optional(),
    /** Unmasked: /proc without the runtime's masked and read-only paths (hostUsers: false only) */
    procMount: z.enum(['Default', 'Unmasked']).optional(),
    readOnlyRootFilesystem: z.boolean().optional(),
    allowPrivilegeEscalation: z.boolean().optional(),
    capabilities: capabilities.optional(),
    seccompProfile: seccompProfile.optional(),
  }).optional(),
  stdin: z.boolean().optional(),
  stdinOnce: z.boolean().optional(),
  tty: z.boolean().optional(),
  lifecycle: z.looseObject({
    postStart: lifecycleHandler.optional(),
    preStop: lifecycleHandler.optional(),
    /** what stops the container instead of its image's StopSignal (Kubernetes 1.33+) */
    stopSignal: z.string().min(1).optional(),
  }).optional(),
  livenessProbe: probe.optional(),
  readinessProbe: probe.optional(),
  startupProbe: probe.optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  /** an init container's only: Always makes it a sidecar (Kubernetes 1.29+) */
  restartPolicy: z.enum(['Always']).optional(),
});

const keyToPath = z.looseObject({ key: z.string().min(1), path: z.string().min(1), mode: z.number().int().min(0).max(0o777).optional() });

const downwardItem = z.looseObject({
  path: z.string().min(1),
  fieldRef: z.looseObject({ fieldPath: z.string(), apiVersion: z.string().optional() }).optional(),
  resourceFieldRef: z.looseObject({ resource: z.string().min(1), containerName: z.string().optional(), divisor: z.union([z.string(), z.number()]).optional() }).optional(),
  mode: z.number().int().min(0).max(0o777).optional(),
});
const projectedObject = z.looseObject({ name: z.string().min(1), items: z.array(keyToPath).optional(), optional: z.boolean().optional() });

export const volumeSchema = z.looseObject({
  name: label,
  emptyDir: z.looseObject({ medium: z.enum(['', 'Memory']).optional(), sizeLimit: quantity.optional() }).optional(),
  hostPath: z.looseObject({ path: z.string().min(1), type: z.string().optional() }).optional(),
  configMap: z.looseObject({
    name: z.string().min(1), items: z.array(keyToPath).optional(), defaultMode: z.number().int().min(0).max(0o777).optional(), optional: z.boolean().optional(),
  }).optional(),
  secret: z.looseObject({
    secretName: z.string().min(1), items: z.array(keyToPath).optional(), defaultMode: z.number().int().min(0).max(0o777).optional(), optional: z.boolean().optional(),
  }).optional(),
  downwardAPI: z.looseObject({ items: z.array(downwardItem).optional(), defaultMode: z.number().int().min(0).max(0o777).optional() }).optional(),
  projected: z.looseObject({
    sources: z.array(z.looseObject({
      configMap: projectedObject.optional(), secret: projectedObject.optional(), downwardAPI: z.looseObject({ items: z.array(downwardItem).optional() }).optional(),
    })).optional(),
    defaultMode: z.number().int().min(0).max(0o777).optional(),
  }).optional(),
});

/** A ConfigMap or Secret given next to the Pod (multi-document YAML, or a List), as `kubectl apply -f` takes them. */
const KEY = '^(?!\\.\\.?$)[-._a-zA-Z0-9]+$';
const objectMeta = z.looseObject({ name: z.string().min(1).max(253), namespace: label.optional() });
export const configMapSchema = z.looseObject({
  apiVersion: z.literal('v1'), kind: z.literal('ConfigMap'), metadata: objectMeta,
  data: z.record(z.string().regex(new RegExp(KEY)), z.string()).optional(),
  binaryData: z.record(z.string().regex(new RegExp(KEY)), z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/)).optional(),
});
export const secretSchema = z.looseObject({
  apiVersion: z.literal('v1'), kind: z.literal('Secret'), metadata: objectMeta, type: z.string().optional(),
  data: z.record(z.string().regex(new RegExp(KEY)), z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/)).optional(),
  stringData: z.record(z.string().regex(new RegExp(KEY)), z.string()).optional(),
});

export const podSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Pod'),
  metadata: z.looseObject({
    name: z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/),
    namespace: label.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({
    containers: z.array(containerSchema).min(1),
    initContainers: z.array(containerSchema).optional(),
    restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).optional(),
    hostname: label.optional(),
    subdomain: label.optional(),
    hostNetwork: z.boolean().optional(),
    hostIPC: z.boolean().optional(),
    hostPID: z.boolean().optional(),
    hostUsers: z.boolean().optional(),
    shareProcessNamespace: z.boolean().optional(),
    dnsPolicy: z.enum(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']).optional(),
    dnsConfig: z.looseObject({
      nameservers: z.array(z.string()).optional(),
      searches: z.array(z.string()).optional(),
      options: z.array(z.looseObject({ name: z.string(), value: z.string().optional() })).optional(),
    }).optional(),
    hostAliases: z.array(z.looseObject({ ip: z.string(), hostnames: z.array(z.string()).optional() })).optional(),
    terminationGracePeriodSeconds: z.number().int().min(0).optional(),
    activeDeadlineSeconds: z.number().int().min(1).optional(),
    /** the OS the pod's containers are for: podrun runs Linux ones */
    os: z.looseObject({ name: z.string().min(1) }).optional(),
    /** the pod's hostname is its FQDN (with a subdomain) */
    setHostnameAsFQDN: z.boolean().optional(),
    securityContext: z.looseObject({
      runAsUser: z.number().int().min(0).optional(),
      runAsGroup: z.number().int().min(0).optional(),
      runAsNonRoot: z.boolean().optional(),
      fsGroup: z.number().int().min(0).optional(),
      fsGroupChangePolicy: z.enum(['Always', 'OnRootMismatch']).optional(),
      supplementalGroups: z.array(z.number().int().min(0)).optional(),
      /** Merge (default): also the groups the image's /etc/group gives the user; Strict: only those asked */
      supplementalGroupsPolicy: z.enum(['Merge', 'Strict']).optional(),
      sysctls: z.array(z.looseObject({ name: z.string(), value: z.string() })).optional(),
      seccompProfile: seccompProfile.optional(),
    }).optional(),
    volumes: z.array(volumeSchema).optional(),
  }),
});

export type PodManifest = z.infer<typeof podSchema>;
export type PodContainer = z.infer<typeof containerSchema>;
export type PodVolume = z.infer<typeof volumeSchema>;
