/* An attacker inside a container (test/integration/isolation.test.ts):
 * scans /proc as fast as it can for processes it did not start (a launcher
 * entering its PID namespace for exec, a probe, a hook, a restart, the pod's
 * init) and tries what CVE-2019-5736, CVE-2016-9962 and CVE-2024-21626 did:
 *   - /proc/PID/{cwd,root} and every /proc/PID/fd/N that is a directory:
 *     walk ".." from it and look for MARKER (a path relative to the host's
 *     root that exists only on the host) at every level;
 *   - /proc/PID/exe: one of the host's launcher executables (node,
 *     podrun-monitor: HOSTEXES, "dev:ino,…" as stat gives them on the host)
 *     reopened for writing (success, or ETXTBSY: writable once it stops).
 * Usage: proc-scanner MARKER_REL SECONDS STOPFILE READYFILE HOSTEXES
 * Prints "FOUND …" per finding, then "scans=N foreign=M found=K"; exits 1
 * if anything was found. Built static by the test, run from a hostPath. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *marker;
static const char *host_exes;
static int found;

static int is_host_exe(const struct stat *st) {
  char want[64];
  snprintf(want, sizeof want, "%lu:%lu", (unsigned long)st->st_dev, (unsigned long)st->st_ino);
  size_t n = strlen(want);
  for (const char *p = host_exes; (p = strstr(p, want)); p += n)
    if ((p == host_exes || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}

static int reaches_host_root(int dirfd) {
  int fd = dup(dirfd);
  for (int depth = 0; fd >= 0 && depth < 128; depth++) {
    if (faccessat(fd, marker, F_OK, 0) == 0) { close(fd); return 1; }
    int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat a, b;
    int top = up < 0 || fstat(fd, &a) < 0 || fstat(up, &b) < 0 || (a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    close(fd);
    fd = up;
    if (top) break;
  }
  if (fd >= 0) close(fd);
  return 0;
}

static void check_dir(const char *path, long pid) {
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (reaches_host_root(fd)) {
    char target[512] = "";
    (void)!readlink(path, target, sizeof target - 1);
    printf("FOUND host directory through %s (pid %ld, %s)\n", path, pid, target);
    found++;
  }
  close(fd);
}

static void check_exe(long pid) {
  char path[64], target[512] = "";
  snprintf(path, sizeof path, "/proc/%ld/exe", pid);
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return;
  (void)!readlink(path, target, sizeof target - 1);
  struct stat exe;
  if (fstat(fd, &exe) == 0 && is_host_exe(&exe)) {
    char reopen[64];
    snprintf(reopen, sizeof reopen, "/proc/self/fd/%d", fd);
    int w = open(reopen, O_WRONLY | O_CLOEXEC);
    if (w >= 0 || errno == ETXTBSY) {
      printf("FOUND writable host executable %s (pid %ld, %s)\n", target, pid, w >= 0 ? "opened for writing" : "busy: writable once it stops");
      found++;
    }
    if (w >= 0) close(w);
  }
  close(fd);
}

static void check_process(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/cwd", pid);
  check_dir(path, pid);
  snprintf(path, sizeof path, "/proc/%ld/root", pid);
  check_dir(path, pid);
  check_exe(pid);
  snprintf(path, sizeof path, "/proc/%ld/fd", pid);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char fdpath[96];
    snprintf(fdpath, sizeof fdpath, "/proc/%ld/fd/%s", pid, e->d_name);
    check_dir(fdpath, pid);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: proc-scanner MARKER_REL SECONDS STOPFILE READYFILE HOSTEXES\n"); return 2; }
  marker = argv[1];
  host_exes = argv[5];
  time_t end = time(NULL) + atol(argv[2]);
  long self = (long)getpid();
  /* processes that exist now are the container's own: only newcomers count as foreign */
  static char known[1 << 22];
  DIR *d = opendir("/proc");
  struct dirent *e;
  while ((e = readdir(d))) { long pid = atol(e->d_name); if (pid > 0 && pid < (long)sizeof known) known[pid] = 1; }
  closedir(d);
  close(open(argv[4], O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  long scans = 0, foreign = 0;
  static char counted[1 << 22];
  while (time(NULL) < end && access(argv[3], F_OK) != 0) {
    d = opendir("/proc");
    while ((e = readdir(d))) {
      long pid = atol(e->d_name);
      if (pid <= 0 || pid == self) continue;
      if (pid < (long)sizeof known && !known[pid] && !counted[pid]) { counted[pid] = 1; foreign++; }
      check_process(pid);
    }
    closedir(d);
    scans++;
  }
  printf("scans=%ld foreign=%ld found=%d\n", scans, foreign, found);
  return found ? 1 : 0;
}
