/** Pods without YAML: `podrun.pod('cache').container({ image: 'redis:7', ports: [6379] })` builds an ordinary Pod
 * manifest (what `build()` returns is what a YAML file would hold), checked like any other when it starts. Pure. */
import type { PodManifest } from '../pod';

type PodSpec = PodManifest['spec'];
type PodContainer = PodSpec['containers'][number];

/** One container, in the words a test author uses; anything else of the Kubernetes container goes in `spec`. */
export interface ContainerOptions {
  /** default: the image's repository name (`redis` for `docker.io/library/redis:7`), made unique in the pod */
  name?: string;
  image: string;
  /** the entrypoint (Kubernetes `command`; default the image's) */
  command?: string[];
  /** its arguments (Kubernetes `args`; default the image's Cmd) */
  args?: string[];
  env?: Record<string, string>;
  /** ports it listens on (documentation, as in Kubernetes; `pod.port()` forwards any port) */
  ports?: Array<number | { containerPort: number; name?: string; protocol?: 'TCP' | 'UDP' | 'SCTP' }>;
  workingDir?: string;
  /** further fields of the Kubernetes container (probes, resources, securityContext, volumeMounts…) */
  spec?: Partial<PodContainer>;
}

/** The repository's last path component, without tag or digest: a valid container name where possible. */
export function defaultContainerName(image: string): string {
  const repo = image.split('@')[0].replace(/:[^/:]*$/, '');
  const last = repo.split('/').pop() ?? '';
  const name = last.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return name || 'main';
}

export function containerManifest(c: ContainerOptions, taken: ReadonlySet<string>): PodContainer {
  let name = c.name;
  if (name === undefined) {
    const base = defaultContainerName(c.image);
    name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  }
  return {
    ...c.spec,
    name,
    image: c.image,
    ...(c.command ? { command: [...c.command] } : {}),
    ...(c.args ? { args: [...c.args] } : {}),
    // added to what `spec` has (valueFrom entries, ports with hostPort…), not replacing it
    ...(c.env ? { env: [...(c.spec?.env ?? []), ...Object.entries(c.env).map(([k, value]) => ({ name: k, value }))] } : {}),
    ...(c.ports ? { ports: [...(c.spec?.ports ?? []), ...c.ports.map((p) => (typeof p === 'number' ? { containerPort: p } : { ...p }))] } : {}),
    ...(c.workingDir !== undefined ? { workingDir: c.workingDir } : {}),
  } as PodContainer;
}

export class PodBuilder {
  #name: string;
  #namespace?: string;
  #labels: Record<string, string> = {};
  #annotations: Record<string, string> = {};
  #containers: PodContainer[] = [];
  #initContainers: PodContainer[] = [];
  #spec: Partial<PodSpec> = {};

  constructor(name: string) {
    this.#name = name;
  }

  namespace(ns: string): this {
    this.#namespace = ns;
    return this;
  }

  label(key: string, value: string): this {
    this.#labels[key] = value;
    return this;
  }

  annotation(key: string, value: string): this {
    this.#annotations[key] = value;
    return this;
  }

  container(c: ContainerOptions): this {
    this.#containers.push(containerManifest(c, this.#names()));
    return this;
  }

  /** runs to completion before the containers start, in the order added */
  initContainer(c: ContainerOptions): this {
    this.#initContainers.push(containerManifest(c, this.#names()));
    return this;
  }

  restartPolicy(policy: 'Always' | 'OnFailure' | 'Never'): this {
    this.#spec.restartPolicy = policy;
    return this;
  }

  /** further fields of the Pod's spec (volumes, securityContext, hostNetwork…) */
  spec(fields: Partial<PodSpec>): this {
    Object.assign(this.#spec, fields);
    return this;
  }

  /** The Pod manifest, as `kubectl apply` would take it. */
  build(): PodManifest {
    const metadata: PodManifest['metadata'] = { name: this.#name };
    if (this.#namespace !== undefined) metadata.namespace = this.#namespace;
    if (Object.keys(this.#labels).length) metadata.labels = { ...this.#labels };
    if (Object.keys(this.#annotations).length) metadata.annotations = { ...this.#annotations };
    const spec = { ...this.#spec, containers: this.#containers.map((c) => ({ ...c })) } as PodSpec;
    if (this.#initContainers.length) spec.initContainers = this.#initContainers.map((c) => ({ ...c }));
    return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
  }

  #names(): Set<string> {
    return new Set([...this.#containers, ...this.#initContainers].map((c) => c.name));
  }
}
