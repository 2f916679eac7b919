/** Load a validator generated at build time (scripts/gen-validators.js) from
 * dist/ by absolute path: esbuild leaves such a require out of the CLI
 * bundle, so only commands that validate pods or images pay for parsing it. */
import path from 'node:path';
import { packageRoot } from '../native';
import type { GeneratedValidator } from './schema-errors';

export interface GeneratedModule {
  default: GeneratedValidator;
  patternMessages: Record<string, string>;
}

export function loadGenerated(rel: string): GeneratedModule {
  const file = path.join(packageRoot(), 'dist', 'src', rel);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as GeneratedModule;
}
