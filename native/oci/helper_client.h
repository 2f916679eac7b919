/* podrun-oci's client of the warm helper (src/cli/oci-helper.ts). */
#ifndef PODRUN_HELPER_CLIENT_H
#define PODRUN_HELPER_CLIENT_H

/* `create` or `exec` (cmd; argv as podrun-oci got it) through the helper
 * serving root: its exit code, or -1 when the Node CLI must do it (no helper
 * yet — a create then starts one for the next calls — or one that declined,
 * before anything was made). */
int oci_helper(const char *root, const char *cmd, char **argv);

#endif
