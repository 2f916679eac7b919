/** The OCI lifecycle, one operation per file (create, start, state, kill,
 * delete, pause/resume, list, exec, features). */
export { createContainer, type CreateOptions } from './create';
export { startCreated } from './start';
export { ociState, containerStatus, type OciState } from './container-status';
export { killContainer, containerPids, signalProcess } from './kill';
export { deleteContainer } from './delete';
export { pauseContainer, resumeContainer } from './pause';
export { listContainers, formatList } from './list';
export { execInContainer, readProcessFile, type ExecOptions, type ExecResult } from './exec';
export { execWithTerminal } from './exec-terminal';
export { attachContainer, type AttachOptions } from './attach';
export { runtimeFeatures } from './features';
export { startAttached } from './run-attached';
export { statsEvent, streamEvents, type ContainerEvent } from './events';
export { requireRecord, readRecord, readRestarts, readLastExit, DEFAULT_STATE_ROOT, type ContainerRecord, type RestartRecord, type ExitRecord } from './state-store';
export { cancelRestarts } from './restart';
export { askMonitor, spawnSharedMonitor, type OverlayMount, type RestartPolicy, type SharedMonitor } from './monitor-client';
export { DEFAULT_LOG_ROTATION, checkLogRotation, snapshotLogFiles, type LogRotation } from './container-log';
export type { OciStatus } from './status';
