/** Parse and validate a config.json; errors name the JSON path. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { PodrunError, errnoCode, invalidField } from '../errors';
import { configSchema, type OciConfig } from './spec-schema';

/** `process.args[0]` style path from zod's issue path. */
export function jsonPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][\w$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out || '(root)';
}

function describe(issues: readonly z.core.$ZodIssue[], source: string): PodrunError {
  const lines = issues.slice(0, 10).map((i) => `${jsonPath(i.path)}: ${i.message}`);
  if (issues.length > 10) lines.push(`… and ${issues.length - 10} more`);
  const first = issues[0];
  return new PodrunError('EINVALID_CONFIG', `${source}: invalid config:\n  ${lines.join('\n  ')}`, {
    field: first ? jsonPath(first.path) : undefined,
  });
}

export function validateConfig(doc: unknown, source = 'config.json'): OciConfig {
  const r = configSchema.safeParse(doc);
  if (!r.success) throw describe(r.error.issues, source);
  return r.data;
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

export async function loadBundleConfig(bundle: string): Promise<OciConfig> {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new PodrunError('ENOTFOUND', `${file}: no such file (is ${bundle} an OCI bundle?)`, { cause: e });
    throw new PodrunError('ENOTFOUND', `${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseConfigText(text, file);
}

export { invalidField };
