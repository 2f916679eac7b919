/** A pod's network: loopback only (the default, nothing to do), the host's
 * (hostNetwork), a CNI network the user named, or pasta (`--network pasta`, the
 * rootless one) — attached to the pinned netns before any container starts,
 * detached on rm (and by gc after a crash). */
import { PodrunError } from '../errors';
import {
  addNetwork, delNetwork, findNetwork, kubernetesCniArgs, offersCapability, resultIPs, PASTA_NETWORK, pastaPidFile, pastaPodIPs,
  startPasta, stopPasta, DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR, type PortMapping,
} from '../network';
import { isRootless } from '../util/rootless';
import type { PodManifest } from './manifest-schema';
import { writePod, type PodRecord } from './pod-store';

export interface PodNetworkOptions {
  /** CNI network (conflist name) to attach pods to, or `pasta`; loopback only when absent */
  network?: string;
  cniConfDir?: string;
  cniBinDirs?: string[];
}

export const POD_IFNAME = 'eth0';

/** ports[].hostPort → portmap's portMappings (pure). */
export function portMappingsOf(pod: PodManifest): Array<PortMapping & { field: string }> {
  const out: Array<PortMapping & { field: string }> = [];
  pod.spec.containers.forEach((c, i) => (c.ports ?? []).forEach((p, j) => {
    if (p.hostPort === undefined) return;
    out.push({
      field: `spec.containers[${i}].ports[${j}].hostPort`,
      hostPort: p.hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase() as PortMapping['protocol'],
      ...(p.hostIP ? { hostIP: p.hostIP } : {}),
    });
  }));
  return out;
}

/** What attaching gave the pod: its IPs (none for loopback-only and hostNetwork pods), and, when the network is still
 * being set up behind them (pasta: its IPs are the host's, known at once), when it is ready. */
export interface PodAttachment {
  podIPs: string[];
  ready?: Promise<void>;
}

/** Attach the pod's netns. */
export async function attachPodNetwork(
  pod: PodManifest, rec: PodRecord, netns: string | undefined, o: PodNetworkOptions & { root: string; dataRoot: string },
  ports: Array<PortMapping & { field: string }> = portMappingsOf(pod),
): Promise<PodAttachment> {
  if (pod.spec.hostNetwork) {
    const moved = ports.find((p) => p.hostPort !== p.containerPort);
    if (moved) throw new PodrunError('EINVALID_CONFIG', `${moved.field}: with hostNetwork it must equal containerPort (${moved.containerPort})`, { field: moved.field });
    return { podIPs: [] };
  }
  if (!o.network) {
    if (ports.length) {
      const how = isRootless() ? `rootless: podrun start --network ${PASTA_NETWORK}` : 'podrun start --network NAME; podrun network init writes one';
      throw new PodrunError('EINVALID_CONFIG', `${ports[0].field}: a hostPort needs a network that forwards ports (${how})`, { field: ports[0].field });
    }
    return { podIPs: [] };
  }
  if (!netns) throw new PodrunError('EINTERNAL', 'pod sandbox has no network namespace');
  if (o.network === PASTA_NETWORK) {
    // before pasta starts: rm/gc end it by its pid file. The pod's IPs are the host's: the containers are made
    // while pasta configures the namespace (~0.1 s), and started once it has (ready)
    rec.network = { name: PASTA_NETWORK, ifName: POD_IFNAME };
    rec.podIPs = pastaPodIPs();
    writePod(o.root, rec);
    return { podIPs: rec.podIPs, ready: startPasta({ netns, pidFile: pastaPidFile(rec.dataDir), ifName: POD_IFNAME, ports }) };
  }
  const confDir = o.cniConfDir ?? DEFAULT_CNI_CONF_DIR;
  const { network } = findNetwork(confDir, o.network);
  if (ports.length && !offersCapability(network, 'portMappings')) {
    throw new PodrunError('EINVALID_CONFIG', `${ports[0].field}: network ${network.name} has no plugin with the portMappings capability (portmap)`, { field: ports[0].field });
  }
  rec.network = { name: network.name, ifName: POD_IFNAME };
  writePod(o.root, rec); // before ADD: rm/gc after a crash run DEL from the cache
  const result = await addNetwork({
    network, containerId: rec.id, netns, ifName: POD_IFNAME,
    args: kubernetesCniArgs({ name: rec.name, namespace: rec.namespace, id: rec.id }),
    capabilityArgs: ports.length ? { portMappings: ports.map(({ field: _f, ...m }) => m) } : {},
    binDirs: o.cniBinDirs ?? DEFAULT_CNI_BIN_DIRS,
  }, o.dataRoot, o.root);
  rec.podIPs = resultIPs(result, POD_IFNAME);
  writePod(o.root, rec);
  return { podIPs: rec.podIPs };
}

/** DEL the pod from its network (a no-op when it has none or it is already detached). */
export async function detachPodNetwork(rec: PodRecord, dataRoot: string): Promise<void> {
  if (!rec.network) return;
  if (rec.network.name === PASTA_NETWORK) {
    await stopPasta(pastaPidFile(rec.dataDir));
    return;
  }
  await delNetwork(dataRoot, { network: { name: rec.network.name }, containerId: rec.id, ifName: rec.network.ifName });
}
