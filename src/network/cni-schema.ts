/** zod schema of a CNI network configuration list (.conflist) and of a
 * single plugin configuration (.conf), per the CNI 1.0 spec. Plugin-specific
 * keys pass through untouched. Compiled to an ajv validator at build time. */
import { z } from 'zod';

const NAME = '^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$';
export const PATTERN_MESSAGES: Record<string, string> = {
  [NAME]: 'must start with a letter or digit and hold only letters, digits, "_", "." and "-"',
};

const plugin = z.looseObject({
  type: z.string().min(1).regex(/^[^/]+$/),
  capabilities: z.record(z.string(), z.boolean()).optional(),
});

export const conflistSchema = z.looseObject({
  cniVersion: z.string().min(1),
  name: z.string().min(1).regex(new RegExp(NAME)),
  disableCheck: z.boolean().optional(),
  plugins: z.array(plugin).min(1),
});

export const confSchema = plugin.extend({
  cniVersion: z.string().min(1),
  name: z.string().min(1).regex(new RegExp(NAME)),
});

export type PluginConf = z.infer<typeof plugin>;
export type NetworkConfList = z.infer<typeof conflistSchema>;
