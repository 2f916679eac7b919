/** OCI runtime-spec 1.2 config.json (Linux), as a zod schema. Unknown
 * properties are kept and ignored, as the spec requires; known properties
 * podrun cannot honour are rejected later by the plan builder by name. */
import { z } from 'zod';
import { namespaceTypes } from './namespace-types';

/** Messages for regex checks, by pattern source. The runtime validator is
 * generated from this schema (scripts/gen-validators.js), where zod's own
 * messages are lost; the generator carries these over. */
export const PATTERN_MESSAGES: Record<string, string> = {};
function pattern(re: RegExp, message: string): z.ZodString {
  PATTERN_MESSAGES[re.source] = message;
  return z.string().regex(re, message);
}

const u32 = z.number().int().min(0).max(0xffffffff);
const absPath = pattern(/^\//, 'must be an absolute path');

const idMapping = z.looseObject({ containerID: u32, hostID: u32, size: u32.min(1) });

export const mountSchema = z.looseObject({
  destination: absPath,
  source: z.string().optional(),
  type: z.string().optional(),
  options: z.array(z.string()).optional(),
  uidMappings: z.array(idMapping).optional(),
  gidMappings: z.array(idMapping).optional(),
});

const capList = z.array(z.string());

export const processSchema = z.looseObject({
  terminal: z.boolean().optional(),
  consoleSize: z.looseObject({ height: u32, width: u32 }).optional(),
  cwd: absPath,
  env: z.array(pattern(/=/, 'must be KEY=VALUE')).optional(),
  args: z.array(z.string()).min(1, 'must name the program to run').optional(),
  commandLine: z.string().optional(),
  rlimits: z
    .array(z.looseObject({ type: z.string(), soft: z.number().int().min(0), hard: z.number().int().min(0) }))
    .optional(),
  apparmorProfile: z.string().optional(),
  capabilities: z
    .looseObject({
      bounding: capList.optional(),
      effective: capList.optional(),
      inheritable: capList.optional(),
      permitted: capList.optional(),
      ambient: capList.optional(),
    })
    .optional(),
  noNewPrivileges: z.boolean().optional(),
  oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  scheduler: z.unknown().optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: z.unknown().optional(),
  execCPUAffinity: z.unknown().optional(),
  user: z.looseObject({
    uid: u32,
    gid: u32,
    umask: u32.max(0o777).optional(),
    additionalGids: z.array(u32).optional(),
    username: z.string().optional(),
  }),
});

const hook = z.looseObject({
  path: absPath,
  args: z.array(z.string()).optional(),
  env: z.array(z.string()).optional(),
  timeout: z.number().int().min(1).optional(),
});

export { namespaceTypes, type NamespaceType } from './namespace-types';

const seccompArg = z.looseObject({
  index: z.number().int().min(0).max(5),
  value: z.number().int().min(0),
  valueTwo: z.number().int().min(0).optional(),
  op: z.string(),
});

export const seccompSchema = z.looseObject({
  defaultAction: z.string(),
  defaultErrnoRet: u32.optional(),
  architectures: z.array(z.string()).optional(),
  flags: z.array(z.string()).optional(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z
    .array(
      z.looseObject({
        names: z.array(z.string()).min(1),
        action: z.string(),
        errnoRet: u32.optional(),
        args: z.array(seccompArg).optional(),
      }),
    )
    .optional(),
});

export const linuxSchema = z.looseObject({
  namespaces: z.array(z.looseObject({ type: z.enum(namespaceTypes), path: absPath.optional() })).optional(),
  uidMappings: z.array(idMapping).optional(),
  gidMappings: z.array(idMapping).optional(),
  timeOffsets: z.record(z.string(), z.unknown()).optional(),
  devices: z
    .array(
      z.looseObject({
        type: z.enum(['c', 'b', 'u', 'p']),
        path: absPath,
        major: z.number().int().min(0).optional(),
        minor: z.number().int().min(0).optional(),
        fileMode: z.number().int().min(0).max(0o7777).optional(),
        uid: u32.optional(),
        gid: u32.optional(),
      }),
    )
    .optional(),
  cgroupsPath: z.string().optional(),
  resources: z.record(z.string(), z.unknown()).optional(),
  rootfsPropagation: z.enum(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']).optional(),
  seccomp: seccompSchema.optional(),
  sysctl: z.record(z.string(), z.string()).optional(),
  maskedPaths: z.array(absPath).optional(),
  readonlyPaths: z.array(absPath).optional(),
  mountLabel: z.string().optional(),
  intelRdt: z.unknown().optional(),
  personality: z.unknown().optional(),
});

export const configSchema = z.looseObject({
  ociVersion: pattern(/^1\.\d+\.\d+/, 'must be a runtime-spec 1.x version'),
  root: z.looseObject({ path: z.string().min(1), readonly: z.boolean().optional() }),
  mounts: z.array(mountSchema).optional(),
  process: processSchema.optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  hooks: z
    .looseObject({
      prestart: z.array(hook).optional(),
      createRuntime: z.array(hook).optional(),
      createContainer: z.array(hook).optional(),
      startContainer: z.array(hook).optional(),
      poststart: z.array(hook).optional(),
      poststop: z.array(hook).optional(),
    })
    .optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  linux: linuxSchema.optional(),
});

export type OciConfig = z.infer<typeof configSchema>;
export type OciMount = z.infer<typeof mountSchema>;
export type OciProcess = z.infer<typeof processSchema>;
export type OciLinux = z.infer<typeof linuxSchema>;
export type OciSeccomp = z.infer<typeof seccompSchema>;
