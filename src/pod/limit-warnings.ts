/**
 * Limits this host cannot enforce, said once per pod in the Pod's terms. The cgroup layer reports each OCI
 * resource of each cgroup (the pod's, every container's): nine lines for a two-container pod with cpu and
 * memory limits on a host whose cgroup v2 lacks those controllers. A pod's author wrote `resources`, not
 * `linux.resources.cpu.quota`: one line naming the fields that are not enforced.
 */
import type { PodManifest } from './manifest-schema';

const MISSING_CONTROLLER = /: not enforced: this host's cgroup v2 offers no (\S+) controller here$/;

/** the cgroup v2 controller a Kubernetes resource is enforced by */
export function controllerOf(resource: string): string | undefined {
  if (resource === 'cpu' || resource === 'memory') return resource;
  if (resource.startsWith('hugepages-')) return 'hugetlb';
  return undefined;
}

/** every controller a Kubernetes resource is enforced by */
export const CGROUP_CONTROLLERS: ReadonlySet<string> = new Set(['cpu', 'memory', 'hugetlb']);

/** The Pod's resources fields (requests and limits) that the controllers named enforce. Pure. */
export function resourceFieldsFor(pod: PodManifest, controllers: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const lists: Array<[string, PodManifest['spec']['containers'] | undefined]> = [['spec.initContainers', pod.spec.initContainers], ['spec.containers', pod.spec.containers]];
  for (const [at, list] of lists) {
    (list ?? []).forEach((c, i) => {
      for (const kind of ['requests', 'limits'] as const) {
        for (const r of Object.keys(c.resources?.[kind] ?? {})) {
          const ctl = controllerOf(r);
          if (ctl && controllers.has(ctl)) out.push(`${at}[${i}].resources.${kind}.${r}`);
        }
      }
    });
  }
  return out;
}

export interface LimitWarnings {
  /** passes every warning on but those of a missing controller, which it keeps */
  onWarning: (m: string) => void;
  /** says the kept ones, once */
  flush: () => void;
}

export function limitWarnings(pod: PodManifest, onWarning: ((m: string) => void) | undefined): LimitWarnings {
  const missing = new Set<string>();
  return {
    onWarning: (m) => {
      const x = MISSING_CONTROLLER.exec(m);
      if (x) missing.add(x[1]);
      else onWarning?.(m);
    },
    flush: () => {
      if (!missing.size) return;
      const fields = resourceFieldsFor(pod, missing);
      const controllers = [...missing].sort().join(', ');
      onWarning?.(`${fields.length ? fields.join(', ') : 'resources'}: not enforced: this host's cgroup v2 offers no ${controllers} controller${missing.size > 1 ? 's' : ''} to podrun`);
      missing.clear();
    },
  };
}
