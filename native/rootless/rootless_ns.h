/* Rootless podrun's user + mount namespace, kept by a pause process: see rootless_ns.c. */
#pragma once

/* the ids beyond the user's own: newuidmap/newgidmap map COUNT ids from these starts as 1..COUNT */
struct rootless_map {
  unsigned long uid_start, gid_start, count;
};

/* Join the user's namespace in DIR (made, with its pause process, when there is none alive), then exec cmd.
 * Returns only on failure (125: the namespace, 127: the exec), having said why on stderr. */
int rootless_main(const char *dir, const struct rootless_map *map, char **cmd);
