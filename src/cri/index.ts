/** The CRI server's entry (its own bundle, dist/deps/cri.js: the CLI loads it only for `podrun cri`). */
export { readCriConfig, parseCriConfig, type CriConfig } from './config';
export { startCriServer, loadCriProto, DEFAULT_CRI_SOCKET, type CriServer, type CriServerOptions } from './server';
