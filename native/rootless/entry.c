/* podrun's entry (bin/podrun runs `podrun-monitor entry SCRIPT ARG...`): as root, exec node with the CLI; as an
 * ordinary user, join (or make) the user's own user + mount namespace first (rootless_ns.c), so the CLI runs there
 * as root over the user's ids. Done here, not in a Node process of the user's, to spare every rootless command a
 * second Node start-up (~70 ms here).
 *
 * The namespace's ids: with ranges for the user in /etc/subuid and /etc/subgid (by name or uid, the first valid
 * line) and newuidmap/newgidmap on PATH, `0 UID 1` plus the range as 1..COUNT; else the user's own id alone.
 * Its directory: $XDG_RUNTIME_DIR/podrun/userns, else /tmp/podrun-UID/userns — the user's, 0700. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "entry.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootless_ns.h"

/* the user's name from /etc/passwd (what NSS "files" gives; a static binary has no other NSS), or "" */
static void user_name(uid_t uid, char *out, size_t size) {
  out[0] = 0;
  FILE *f = fopen("/etc/passwd", "re");
  if (!f) return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    /* strsep, not strtok: an empty password field ("name::uid:") must not shift the fields */
    char *rest = line, *name = strsep(&rest, ":");
    strsep(&rest, ":");
    char *id = strsep(&rest, ":");
    if (name && *name && id && *id && strtoul(id, NULL, 10) == uid) {
      snprintf(out, size, "%s", name);
      break;
    }
  }
  fclose(f);
}

/* the first "WHO:START:COUNT" line of FILE whose WHO is the user's name or id, with START and COUNT > 0 */
static int sub_range(const char *file, const char *name, unsigned long id, unsigned long *start, unsigned long *count) {
  FILE *f = fopen(file, "re");
  if (!f) return 0;
  char line[512], ids[32];
  snprintf(ids, sizeof ids, "%lu", id);
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *rest = line, *who = strsep(&rest, ":"), *s = strsep(&rest, ":"), *c = strsep(&rest, ":");
    if (!who || !s || !c) continue;
    if (strcmp(who, ids) != 0 && (!name[0] || strcmp(who, name) != 0)) continue;
    char *end1, *end2;
    unsigned long a = strtoul(s, &end1, 10), b = strtoul(c, &end2, 10);
    if (*s && *c && !*end1 && !*end2 && a > 0 && b > 0) {
      *start = a;
      *count = b;
      found = 1;
    }
  }
  fclose(f);
  return found;
}

static int on_path(const char *cmd) {
  const char *path = getenv("PATH");
  char buf[PATH_MAX];
  for (const char *p = path && *path ? path : "/usr/bin:/bin"; *p;) {
    size_t n = strcspn(p, ":");
    if (n > 0 && (size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, cmd) < sizeof buf && access(buf, X_OK) == 0) return 1;
    p += n + (p[n] == ':');
  }
  return 0;
}

/* DIR made (with its parent) 0700 and checked to be the user's alone */
static int own_run_dir(const char *dir, uid_t uid) {
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (mkdir(parent, 0700) < 0 && errno != EEXIST) goto bad;
  }
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) goto bad;
  struct stat st;
  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022)) goto bad;
  return 0;
bad:
  fprintf(stderr, "podrun: rootless: %s must be a directory of yours that only you can write (set XDG_RUNTIME_DIR)\n", dir);
  return -1;
}

int podrun_entry(char **script_and_args) {
  int n = 0;
  while (script_and_args[n]) n++;
  char **cmd = calloc((size_t)n + 2, sizeof *cmd);
  if (!cmd) return 125;
  cmd[0] = "node";
  for (int i = 0; i < n; i++) cmd[i + 1] = script_and_args[i];
  uid_t uid = getuid();
  if (uid == 0) {
    execvp(cmd[0], cmd);
    fprintf(stderr, "podrun: exec node: %s\n", strerror(errno));
    return 127;
  }
  gid_t gid = getgid();
  char run[PATH_MAX], dir[PATH_MAX], name[256];
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg) snprintf(run, sizeof run, "%.4000s/podrun", xdg);
  else snprintf(run, sizeof run, "/tmp/podrun-%lu", (unsigned long)uid);
  if (own_run_dir(run, uid) < 0) return 125;
  snprintf(dir, sizeof dir, "%.4000s/userns", run);
  user_name(uid, name, sizeof name);
  struct rootless_map map;
  unsigned long gstart, gcount;
  int ranged = sub_range("/etc/subuid", name, uid, &map.uid_start, &map.count) &&
               sub_range("/etc/subgid", name, gid, &gstart, &gcount) && on_path("newuidmap") && on_path("newgidmap");
  if (ranged) {
    map.gid_start = gstart;
    if (gcount < map.count) map.count = gcount;
  }
  return rootless_main(dir, ranged ? &map : NULL, cmd);
}
