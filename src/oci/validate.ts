/** Parse and validate a config.json; errors name the JSON path. The
 * validator is generated at build time from the zod schema in spec-schema.ts
 * (see scripts/gen-validators.js), so validating does not load zod. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PodrunError, errnoCode } from '../errors';
import { schemaErrorLines, type GeneratedValidator } from '../util/schema-errors';
import type { OciConfig } from './spec-schema';

function configValidator(): { validate: GeneratedValidator; patternMessages: Record<string, string> } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('./config-validator.generated.js') as { default: GeneratedValidator; patternMessages: Record<string, string> };
  return { validate: mod.default, patternMessages: mod.patternMessages };
}

export function validateConfig(doc: unknown, source = 'config.json'): OciConfig {
  const { validate, patternMessages } = configValidator();
  if (validate(doc)) return doc as OciConfig;
  const { lines, first } = schemaErrorLines(validate.errors ?? [], patternMessages);
  throw new PodrunError('EINVALID_CONFIG', `${source}: invalid config:\n  ${lines.join('\n  ')}`, { field: first });
}

export function parseConfigText(text: string, source = 'config.json'): OciConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PodrunError('EINVALID_CONFIG', `${source}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return validateConfig(doc, source);
}

/** Read and validate <bundle>/config.json (a small file: read synchronously). */
export function loadBundleConfig(bundle: string): OciConfig {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new PodrunError('ENOTFOUND', `${file}: no such file (is ${bundle} an OCI bundle?)`, { cause: e });
    throw new PodrunError('ENOTFOUND', `${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseConfigText(text, file);
}

