/** Which container `logs`, `exec` and `attach` mean when none is named:
 * kubectl's rule (KEP-2227) — the one the `kubectl.kubernetes.io/default-container`
 * annotation names, else the first app container — and kubectl's notice when
 * there was a choice to make. */
import type { PodManifest } from './manifest-schema';

export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

export function defaultContainer(m: PodManifest): { name: string; notice?: string } {
  const { containers, initContainers = [] } = m.spec;
  const annotated = m.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (annotated && [...containers, ...initContainers].some((c) => c.name === annotated)) return { name: annotated };
  const name = containers[0].name;
  if (containers.length === 1 && initContainers.length === 0) return { name };
  const all = [...containers.map((c) => c.name), ...initContainers.map((c) => `${c.name} (init)`)];
  return { name, notice: `Defaulted container "${name}" out of: ${all.join(', ')}` };
}
