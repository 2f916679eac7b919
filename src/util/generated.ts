/** Validators generated at build time (scripts/gen-validators.js) into
 * dist/, loaded on first use: only commands that validate pods, images or
 * CNI configs pay for them. The CLI bundle takes them from its second,
 * lazily loaded bundle (scripts/bundle-cli.js); the library requires the
 * files. */
import type { GeneratedValidator } from './schema-errors';

export interface GeneratedModule {
  default: GeneratedValidator;
  patternMessages: Record<string, string>;
}

/* eslint-disable @typescript-eslint/no-require-imports -- static paths, so a bundler sees them */
const modules: Record<string, () => GeneratedModule> = {
  'pod/pod-validator.generated.js': () => require('../pod/pod-validator.generated.js'),
  'pod/configmap-validator.generated.js': () => require('../pod/configmap-validator.generated.js'),
  'pod/secret-validator.generated.js': () => require('../pod/secret-validator.generated.js'),
  'network/conflist-validator.generated.js': () => require('../network/conflist-validator.generated.js'),
  'network/conf-validator.generated.js': () => require('../network/conf-validator.generated.js'),
  'image/index-validator.generated.js': () => require('../image/index-validator.generated.js'),
  'image/manifest-validator.generated.js': () => require('../image/manifest-validator.generated.js'),
  'image/imageConfig-validator.generated.js': () => require('../image/imageConfig-validator.generated.js'),
  'image/dockerArchive-validator.generated.js': () => require('../image/dockerArchive-validator.generated.js'),
};

export function loadGenerated(rel: string): GeneratedModule {
  const load = modules[rel];
  if (!load) throw new Error(`no generated validator ${rel}`);
  return load();
}
