/** A pod's names for itself, as kubelet gives them (pure). */
import type { PodManifest } from './manifest-schema';

/** The pod's own name for itself: spec.hostname, else its name's first label. */
export function podShortHostname(pod: PodManifest): string {
  return pod.spec.hostname ?? pod.metadata.name.split('.')[0].slice(0, 63);
}

/** The pod's DNS domain as kubelet makes it (subdomain.namespace.svc.cluster.local), where it has a subdomain. */
export function podDomain(pod: PodManifest): string | undefined {
  return pod.spec.subdomain ? `${pod.spec.subdomain}.${pod.metadata.namespace ?? 'default'}.svc.cluster.local` : undefined;
}

/** The pod's hostname (uname -n, /etc/hostname, $HOSTNAME): the short one, or with setHostnameAsFQDN the FQDN. */
export function podHostname(pod: PodManifest): string {
  const domain = podDomain(pod);
  return pod.spec.setHostnameAsFQDN && domain ? `${podShortHostname(pod)}.${domain}` : podShortHostname(pod);
}
