/** `podrun cri`: serve CRI until SIGINT/SIGTERM. Global --runroot,
 * --data-root, --cni-* flags win over the config file's keys. */
import type { Command } from 'commander';
import { PodrunError } from '../errors';
import type { PodGlobals, Runner } from './pod-commands';

export function registerCriCommand(program: Command, run: Runner, globals: () => PodGlobals): void {
  program
    .command('cri')
    .description('serve the Kubernetes CRI (runtime.v1 RuntimeService and ImageService) on a unix socket')
    .option('--listen <address>', 'unix:///path of the socket (default unix:///run/podrun/cri.sock)')
    .option('--config <file>', 'YAML or JSON settings (docs/cri.md)')
    .action((opt: { listen?: string; config?: string }) =>
      run(async () => {
        const { isRootless } = require('../util/rootless') as typeof import('../util/rootless');
        if (isRootless()) throw new PodrunError('EHOST', 'podrun cri: not available rootless yet (kubelet and crictl drive a root runtime); run it as root');
        const { readCriConfig, startCriServer } = require('../cri') as typeof import('../cri');
        const g = globals();
        const file = opt.config ? readCriConfig(opt.config) : {};
        const config = {
          ...file,
          root: g.runroot ?? file.root,
          dataRoot: g.dataRoot ?? file.dataRoot,
          cni: { ...file.cni, confDir: g.cniConfDir ?? file.cni?.confDir, binDirs: g.cniBinDirs ?? file.cni?.binDirs },
          registries: { ...file.registries, defaultRegistry: g.defaultRegistry ?? file.registries?.defaultRegistry },
        };
        const server = await startCriServer({ listen: opt.listen, config });
        process.stderr.write(`podrun cri: serving ${server.address}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await server.close();
      })(),
    );
}
