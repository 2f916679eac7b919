/** podrun library API: the `Podrun` client (src/client) for tests and programs, and the free functions beneath it
 * for one-off use (each takes the options it needs). */
export { Podrun, type PodrunOptions, type StartOptions, type PodSource } from './client/podrun';
export { Pod, type ExecText, type PodExecOptions, type PodLogOptions, type PortOptions, type PodAddress } from './client/pod-handle';
export { PodBuilder, type ContainerOptions } from './client/pod-builder';
export { Wait, type WaitStrategy, type WaitTarget, type HttpWaitOptions } from './client/wait';
export type { CopySource } from './client/copy';
export { PodrunError, type PodrunErrorCode } from './errors';
export { run, startContainer, validateId, type RunOptions, type RunResult, type RunSource, type RunningContainer } from './oci/run';
export { buildLaunchPlan, type PlanContext, type PlanResult } from './oci/build-plan';
export { encodePlan } from './oci/plan-encode';
export type { LaunchPlan } from './oci/launch-plan';
export { defaultSpec } from './oci/default-spec';
export { validateConfig, parseConfigText, loadBundleConfig } from './oci/validate';
export type { OciConfig } from './oci/spec-schema';
export type { NativeApi, ExitStatus, LaunchResult } from './native';
export {
  pullImage, loadImage, images, inspectImage, removeImageByName, pruneImageStore,
  ImageStore, DEFAULT_DATA_ROOT, mountRootfs, removeRootfs, rootfsPaths,
  containerDefaults, processArgs, mergeEnv, resolveUser, parseImageRef, normalizeName,
  type PullImageOptions, type StoreOptions, type ImageDetails, type PulledImage, type PullEvent,
  type RootfsPaths, type ContainerDefaults, type ResolvedUser, type ImageRef, type PruneResult, type RemoveResult,
} from './image';
export {
  startPodFrom as startPod, startPodsFrom as startPods, startPodFromText, pods, inspectPod, inspectPod as podStatus, podLogs, execInPod, execCapture, execStream, type ExecOutput, type ExecSession, type ExecProcessOptions, attachToPod, podNetworkNamespace,
  stopPodByName as stopPod, removePodByName as removePod, podStats, gcPods, waitPod, watchPod, checkPodNetwork, type PodEvent, parsePodManifest, containerConfig, type ExecResult,
  type PodManifest, type PodRecord, type PodStatusReport, type PodOptions, type GcReport, type PodSummary, type PodStats, type ParsedPod, type ContainerChoice,
} from './pod';
export {
  initNetwork, loadNetworks, findNetwork, addNetwork, delNetwork, checkNetwork, pluginVersions,
  DEFAULT_CNI_CONF_DIR, DEFAULT_CNI_BIN_DIRS,
  type NetworkConfList, type NetworkFile, type Attachment, type CniResult, type PortMapping, type NetworkInitOptions,
} from './network';
