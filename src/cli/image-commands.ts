/** podrun pull / load / images / rmi / image {inspect,ls,rm,prune}. */
import type { Command } from 'commander';
import type { ImageDetails, PullImageOptions } from '../image';
import { pullProgress } from './progress';
import { table } from './table';

export interface ImageGlobals {
  dataRoot?: string;
  defaultRegistry?: string;
}

type Runner = (fn: () => Promise<number | void>) => () => Promise<void>;

const lib = (): typeof import('../image') => require('../image') as typeof import('../image');

function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function summary(d: ImageDetails): object {
  return { id: d.id, names: d.names, manifestDigest: d.manifestDigest, created: d.created, stored: d.stored, size: d.size, platform: d.platform, layers: d.layers.length };
}

export function registerImageCommands(program: Command, run: Runner, globals: () => ImageGlobals): void {
  const pullAction = (verb: 'pull' | 'load') =>
    function (this: Command, source: string | undefined, o: { insecure?: boolean; authfile?: string; platform?: string; name?: string; quiet?: boolean; input?: string }) {
      return run(async () => {
        const src = source ?? o.input;
        if (!src) throw new Error(`${verb}: name what to ${verb}`);
        const progress = pullProgress(!o.quiet);
        const opts: PullImageOptions = { ...globals(), insecure: o.insecure, authFile: o.authfile, platform: o.platform, name: o.name, onEvent: progress.onEvent,
          onWarning: (m) => process.stderr.write(`podrun: warning: ${m}\n`) };
        try {
          const img = verb === 'pull' ? await lib().pullImage(src, opts) : await lib().loadImage(src, opts);
          progress.stop();
          process.stdout.write(`${o.quiet ? img.id : `${img.name ?? '<none>'} ${img.id}`}\n`);
        } finally {
          progress.stop();
        }
      })();
    };

  const addPullOptions = (c: Command): Command =>
    c
      .option('--platform <os/arch[/variant]>', 'image platform (default: this host)')
      .option('--name <name>', 'record the image under this name')
      .option('-q, --quiet', 'no progress; print only the image id');

  addPullOptions(
    program
      .command('pull')
      .description('pull an image from a registry (docker.io/library/x:tag style, or oci:/docker-archive: sources)')
      .argument('<image>')
      .option('--insecure', 'talk plain HTTP to the registry (local registries without TLS)')
      .option('--authfile <file>', 'docker-style auth.json with registry credentials'),
  ).action(pullAction('pull'));

  addPullOptions(
    program
      .command('load')
      .description('load an image from an OCI layout (dir or tar) or a `docker save` archive')
      .argument('[path]', 'PATH, oci:PATH[:REF] or docker-archive:PATH[:TAG]')
      .option('-i, --input <path>', 'the archive (as podman load -i)'),
  ).action(pullAction('load'));

  const listAction = (o: { json?: boolean; quiet?: boolean }) =>
    run(async () => {
      const all = lib().images(globals());
      if (o.json) return void process.stdout.write(`${JSON.stringify(all.map(summary), null, 2)}\n`);
      if (o.quiet) return void process.stdout.write(all.map((d) => `${d.id.slice(7, 19)}\n`).join(''));
      const rows = [['NAME', 'IMAGE ID', 'CREATED', 'SIZE']];
      for (const d of all) for (const n of d.names.length ? d.names : ['<none>']) rows.push([n, d.id.slice(7, 19), d.created?.slice(0, 19).replace('T', ' ') ?? '', humanSize(d.size)]);
      process.stdout.write(table(rows));
    })();

  program.command('images').description('list images').option('--json', 'JSON output').option('-q, --quiet', 'ids only').action(listAction);

  const rmAction = (names: string[], o: { force?: boolean; json?: boolean }) =>
    run(async () => {
      let failed = 0;
      for (const n of names) {
        try {
          const r = await lib().removeImageByName(n, { ...globals(), force: o.force });
          for (const u of r.untagged) process.stdout.write(`Untagged: ${u}\n`);
          for (const d of r.removed) process.stdout.write(`Deleted: ${d}\n`);
        } catch (e) {
          process.stderr.write(`podrun: ${(e as Error).message}\n`);
          failed++;
        }
      }
      return failed ? 1 : 0;
    })();
  program.command('rmi').description('remove images by name or id').argument('<image...>').option('-f, --force', 'remove even if a pod uses it').action(rmAction);

  const image = program.command('image').description('manage images');
  image.command('ls').description('list images').option('--json', 'JSON output').option('-q, --quiet', 'ids only').action(listAction);
  image.command('rm').description('remove images').argument('<image...>').option('-f, --force', 'remove even if a pod uses it').action(rmAction);
  image
    .command('inspect')
    .description('show an image: names, digests, config, layers (JSON)')
    .argument('<image...>')
    .action((names: string[]) =>
      run(async () => {
        const out = names.map((n) => {
          const d = lib().inspectImage(n, globals());
          const defaults = lib().containerDefaults(d.config);
          return { ...summary(d), config: defaults, rootfs: { diffIds: d.layers }, manifest: d.manifest };
        });
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      })(),
    );
  image
    .command('prune')
    .description('delete blobs and unpacked layers that no image, pod or running pull uses')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      run(async () => {
        const r = await lib().pruneImageStore(globals());
        if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else process.stdout.write(`removed ${r.blobs} blobs, ${r.layers} layers, ${r.tmp} temporary entries; freed ${humanSize(r.bytes)}\n`);
      })(),
    );
}
