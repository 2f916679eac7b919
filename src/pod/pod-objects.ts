/** ConfigMaps and Secrets given with a Pod (the same YAML file, as
 * `kubectl apply -f` takes them): validated, kept as key → bytes (base64),
 * and resolved for configMap/secret volumes and configMapKeyRef/secretKeyRef
 * env. Pure except for writing a volume's files. */
import fs from 'node:fs';
import path from 'node:path';
import { PodrunError } from '../errors';
import { loadGenerated } from '../util/generated';
import { schemaErrorLines } from '../util/schema-errors';

export interface PodObjects {
  /** name → key → content, base64 */
  configMaps: Record<string, Record<string, string>>;
  secrets: Record<string, Record<string, string>>;
}

export const noObjects = (): PodObjects => ({ configMaps: {}, secrets: {} });

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Add one ConfigMap or Secret document; `at` names it in errors. */
export function addObject(objects: PodObjects, doc: Record<string, unknown>, at: string): void {
  const kind = doc.kind as 'ConfigMap' | 'Secret';
  const v = loadGenerated(`pod/${kind === 'ConfigMap' ? 'configmap' : 'secret'}-validator.generated.js`);
  if (!v.default(doc)) {
    const { lines, first } = schemaErrorLines(v.default.errors ?? [], v.patternMessages);
    throw new PodrunError('EINVALID_CONFIG', `${at}: invalid ${kind}:\n  ${lines.join('\n  ')}`, { field: first });
  }
  const name = (doc.metadata as { name: string }).name;
  const into = kind === 'ConfigMap' ? objects.configMaps : objects.secrets;
  if (into[name]) throw new PodrunError('EINVALID_CONFIG', `${at}: ${kind} ${name} is given twice`);
  const data: Record<string, string> = {};
  if (kind === 'ConfigMap') {
    for (const [k, val] of Object.entries((doc.data ?? {}) as Record<string, string>)) data[k] = b64(val);
    for (const [k, val] of Object.entries((doc.binaryData ?? {}) as Record<string, string>)) {
      if (k in data) throw new PodrunError('EINVALID_CONFIG', `${at}: key ${k} is in both data and binaryData`);
      data[k] = val;
    }
  } else {
    Object.assign(data, (doc.data ?? {}) as Record<string, string>);
    for (const [k, val] of Object.entries((doc.stringData ?? {}) as Record<string, string>)) data[k] = b64(val); // stringData wins, as the API server merges it
  }
  into[name] = data;
}

/** Every key of a ConfigMap or Secret, decoded (envFrom); undefined when optional and missing. */
export function objectData(objects: PodObjects, ref: { kind: 'ConfigMap' | 'Secret'; name: string; optional?: boolean }, field: string): Record<string, string> | undefined {
  const obj = (ref.kind === 'ConfigMap' ? objects.configMaps : objects.secrets)[ref.name];
  if (!obj) {
    if (ref.optional) return undefined;
    throw new PodrunError('EINVALID_CONFIG', `${field}: ${ref.kind} ${ref.name} was not given (put it in the same file as the Pod, separated by ---)`, { field });
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** An env value from configMapKeyRef/secretKeyRef; undefined when optional and missing. */
export function objectKeyValue(objects: PodObjects, ref: { kind: 'ConfigMap' | 'Secret'; name: string; key: string; optional?: boolean }, field: string): string | undefined {
  const obj = (ref.kind === 'ConfigMap' ? objects.configMaps : objects.secrets)[ref.name];
  if (!obj) {
    if (ref.optional) return undefined;
    throw new PodrunError('EINVALID_CONFIG', `${field}: ${ref.kind} ${ref.name} was not given (put it in the same file as the Pod, separated by ---)`, { field });
  }
  const v = obj[ref.key];
  if (v === undefined) {
    if (ref.optional) return undefined;
    throw new PodrunError('EINVALID_CONFIG', `${field}: ${ref.kind} ${ref.name} has no key ${ref.key}`, { field });
  }
  return Buffer.from(v, 'base64').toString('utf8');
}

export interface ObjectVolume {
  kind: 'ConfigMap' | 'Secret';
  name: string;
  items?: Array<{ key: string; path: string; mode?: number }>;
  defaultMode?: number;
  optional?: boolean;
}

/** Write a configMap/secret volume's files into dir (which exists). */
export function writeObjectVolume(objects: PodObjects, vol: ObjectVolume, dir: string, field: string): void {
  const obj = (vol.kind === 'ConfigMap' ? objects.configMaps : objects.secrets)[vol.name];
  if (!obj) {
    if (vol.optional) return;
    throw new PodrunError('EINVALID_CONFIG', `${field}: ${vol.kind} ${vol.name} was not given (put it in the same file as the Pod, separated by ---)`, { field });
  }
  const items = vol.items ?? Object.keys(obj).map((key) => ({ key, path: key, mode: undefined }));
  items.forEach((it, i) => {
    if (obj[it.key] === undefined) {
      if (vol.optional) return;
      throw new PodrunError('EINVALID_CONFIG', `${field}.items[${i}].key: ${vol.kind} ${vol.name} has no key ${it.key}`, { field });
    }
    const file = path.join(dir, it.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from(obj[it.key], 'base64'), { mode: it.mode ?? vol.defaultMode ?? 0o644 });
    fs.chmodSync(file, it.mode ?? vol.defaultMode ?? 0o644); // not narrowed by the umask
  });
}
