/** zod schemas of the image documents podrun reads (OCI image-spec and the
 * Docker equivalents). Only what podrun relies on is required; unknown
 * fields pass. Compiled to ajv validators at build time like spec-schema. */
import { z } from 'zod';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);
export const PATTERN_MESSAGES: Record<string, string> = {
  '^sha256:[a-f0-9]{64}$': 'must be a sha256 digest (sha256:<64 hex>)',
};

const platform = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
});

export const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest,
  size: z.number().int().min(0),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platform.optional(),
  urls: z.array(z.string()).optional(),
});

export const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
});

export const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});

export const imageConfigSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  created: z.string().optional(),
  author: z.string().optional(),
  config: z.looseObject({
    User: z.string().optional(),
    ExposedPorts: z.record(z.string(), z.looseObject({})).nullable().optional(),
    Env: z.array(z.string()).nullable().optional(),
    Entrypoint: z.array(z.string()).nullable().optional(),
    Cmd: z.array(z.string()).nullable().optional(),
    Volumes: z.record(z.string(), z.looseObject({})).nullable().optional(),
    WorkingDir: z.string().optional(),
    Labels: z.record(z.string(), z.string()).nullable().optional(),
    StopSignal: z.string().optional(),
  }).nullable().optional(),
  rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: z.array(digest) }),
  history: z.array(z.looseObject({ empty_layer: z.boolean().optional() })).optional(),
});

/** `manifest.json` of a `docker save` archive */
export const dockerArchiveSchema = z.array(z.looseObject({
  Config: z.string(),
  RepoTags: z.array(z.string()).nullable().optional(),
  Layers: z.array(z.string()),
}));

export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageIndex = z.infer<typeof indexSchema>;
export type ImageManifest = z.infer<typeof manifestSchema>;
export type ImageConfig = z.infer<typeof imageConfigSchema>;
export type DockerArchiveManifest = z.infer<typeof dockerArchiveSchema>;
