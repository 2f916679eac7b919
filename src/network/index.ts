/** Pod networking through CNI plugins: configuration lists, ADD/DEL/CHECK
 * with a result cache, the default network `podrun network init` writes. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { defaultConflist, loadNetworks, type NetworkConfList } from './cni-config';

export {
  DEFAULT_CNI_BIN_DIRS, DEFAULT_CNI_CONF_DIR, findNetwork, loadNetworks, parseNetworkConfig, pluginInput, kubernetesCniArgs,
  offersCapability, resultIPs, defaultConflist,
  type NetworkConfList, type NetworkFile, type LoadedNetworks, type PortMapping, type CapabilityArgs, type CniResult,
} from './cni-config';
export { addNetwork, delNetwork, checkNetwork, cachedAttachments, pluginVersions, cniCacheDir, type Attachment } from './cni';
export { PASTA_NETWORK, pastaArgs, pastaPidFile, pastaPodIPs, pastaErrors, startPasta, stopPasta, unprivilegedPortStart } from './pasta';
export { findPlugin, invokePlugin, type CniCommand, type PluginCall } from './cni-exec';

export interface NetworkInitOptions {
  confDir: string;
  name?: string;
  bridge?: string;
  subnet?: string;
  /** replace an existing file of that name */
  force?: boolean;
}

/** Write the default network (bridge podrun0, host-local IPAM on a /16, portmap, firewall), only when asked. */
export function initNetwork(o: NetworkInitOptions): { file: string; network: NetworkConfList } {
  const name = o.name ?? 'podrun';
  const network = defaultConflist({ name, bridge: o.bridge ?? 'podrun0', subnet: o.subnet ?? '10.90.0.0/16' });
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new PodrunError('EINVALID_CONFIG', `network name ${JSON.stringify(name)}: letters, digits, "_", "." and "-" only`);
  if (network.plugins[0].bridge && String(network.plugins[0].bridge).length > 15) throw new PodrunError('EINVALID_CONFIG', `bridge name ${o.bridge}: at most 15 characters`);
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(o.subnet ?? '10.90.0.0/16')) throw new PodrunError('EINVALID_CONFIG', `subnet ${o.subnet}: expected an IPv4 CIDR like 10.90.0.0/16`);
  const taken = loadNetworks(o.confDir).networks.find((n) => n.network.name === name);
  const file = taken?.file ?? path.join(o.confDir, `87-${name}.conflist`);
  if (taken && !o.force) throw new PodrunError('EEXIST', `network ${name} already exists in ${taken.file} (--force replaces it)`);
  fs.mkdirSync(o.confDir, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(network, null, 2)}\n`);
  return { file, network };
}
