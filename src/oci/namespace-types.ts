/** The namespace kinds of the runtime-spec (kept free of zod so the CLI
 * bundle, which never loads zod, can use them). */
export const namespaceTypes = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NamespaceType = (typeof namespaceTypes)[number];
