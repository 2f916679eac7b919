/** Parse and validate image documents; errors name the document and field. */
import { PodrunError } from '../errors';
import { loadGenerated, type GeneratedModule } from '../util/generated';
import { schemaErrorLines } from '../util/schema-errors';
import type { DockerArchiveManifest, ImageConfig, ImageIndex, ImageManifest } from './image-schema';

const validators = {
  index: (): GeneratedModule => loadGenerated('image/index-validator.generated.js'),
  manifest: (): GeneratedModule => loadGenerated('image/manifest-validator.generated.js'),
  imageConfig: (): GeneratedModule => loadGenerated('image/imageConfig-validator.generated.js'),
  dockerArchive: (): GeneratedModule => loadGenerated('image/dockerArchive-validator.generated.js'),
};

function parseDoc<T>(kind: keyof typeof validators, data: Buffer | string, source: string): T {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString());
  } catch (e) {
    throw new PodrunError('EIMAGE', `${source}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const { default: validate, patternMessages } = validators[kind]();
  if (validate(doc)) return doc as T;
  const { lines, first } = schemaErrorLines(validate.errors ?? [], patternMessages);
  throw new PodrunError('EIMAGE', `${source}: invalid ${kind}:\n  ${lines.join('\n  ')}`, { field: first });
}

export const parseIndex = (data: Buffer | string, source: string): ImageIndex => parseDoc('index', data, source);
export const parseManifest = (data: Buffer | string, source: string): ImageManifest => parseDoc('manifest', data, source);
export const parseImageConfig = (data: Buffer | string, source: string): ImageConfig => parseDoc('imageConfig', data, source);
export const parseDockerArchiveManifest = (data: Buffer | string, source: string): DockerArchiveManifest => parseDoc('dockerArchive', data, source);
