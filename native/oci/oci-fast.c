/* podrun-oci: runc's command line. The hot, simple commands a container
 * engine calls around every container (state, start, kill, delete) are
 * served here in C from the files `create` left (DIR/fast); everything else,
 * and these commands whenever hooks are involved, goes to the Node CLI
 * (bin/podrun oci …), which owns the full implementation. Node's start-up
 * alone costs more than runc's whole command; this keeps it off the path. */
#include "uid_map.h"
#include "helper_client.h"
#include "proc_stat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CREATED 16

struct fast {
  long pid, pid_start, monitor_pid, monitor_start;
  char cgroup[PATH_MAX];
  char created[MAX_CREATED][PATH_MAX];
  int ncreated;
  int start_hooks, poststop_hooks;
  char *state_template;
};

struct globals {
  const char *root, *log, *log_format;
};

static struct globals g = { NULL, NULL, "text" };

/* the state root without --root, as src/util/rootless.ts defaultRoot has it: /run/podrun on the host; in a user
 * namespace (rootless: podman's, or podrun's own) the user's runtime directory, as runc keeps $XDG_RUNTIME_DIR/runc */
static const char *default_root(void) {
  static char buf[PATH_MAX];
  unsigned long host_uid;
  if (uid_map_initial(&host_uid) != 0) return "/run/podrun"; /* the host's, or no readable map: as root */
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg) snprintf(buf, sizeof buf, "%.4000s/podrun", xdg);
  else snprintf(buf, sizeof buf, "/tmp/podrun-%lu", host_uid);
  return buf;
}

static void log_error(const char *msg) {
  fprintf(stderr, "podrun: %s\n", msg);
  if (!g.log) return;
  FILE *f = fopen(g.log, "a");
  if (!f) return;
  char ts[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (strcmp(g.log_format, "json") == 0) {
    fputs("{\"level\":\"error\",\"msg\":\"", f);
    for (const char *p = msg; *p; p++) {
      if (*p == '"' || *p == '\\') fputc('\\', f);
      if ((unsigned char)*p < 0x20) fprintf(f, "\\u%04x", *p); else fputc(*p, f);
    }
    fprintf(f, "\",\"time\":\"%s\"}\n", ts);
  } else {
    fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", ts, msg);
  }
  fclose(f);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_error(msg);
  return 1;
}

static char *read_text(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  return buf;
}

/* DIR/fast: "key=value" lines written by create (src/oci/lifecycle/create.ts) */
static int load_fast(const char *dir, struct fast *f) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%.4000s/fast", dir);
  char *text = read_text(path);
  if (!text) return -1;
  memset(f, 0, sizeof *f);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    const char *v = eq + 1;
    if (!strcmp(line, "pid")) f->pid = atol(v);
    else if (!strcmp(line, "pidStartTime")) f->pid_start = atol(v);
    else if (!strcmp(line, "monitorPid")) f->monitor_pid = atol(v);
    else if (!strcmp(line, "monitorStartTime")) f->monitor_start = atol(v);
    else if (!strcmp(line, "cgroup")) snprintf(f->cgroup, sizeof f->cgroup, "%s", v);
    else if (!strcmp(line, "cgroupCreated") && f->ncreated < MAX_CREATED) snprintf(f->created[f->ncreated++], PATH_MAX, "%s", v);
    else if (!strcmp(line, "startHooks")) f->start_hooks = atoi(v);
    else if (!strcmp(line, "poststopHooks")) f->poststop_hooks = atoi(v);
    else if (!strcmp(line, "state")) f->state_template = strdup(v);
  }
  free(text);
  /* an empty cgroup is none (rootless, nothing delegated): its PID namespace ends with its init */
  return f->pid > 0 && f->state_template ? 0 : -1;
}

static int same_process(long pid, long start) { return pid > 0 && proc_start_time(pid) == start; }

static int file_exists(const char *dir, const char *name) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%.4000s/%.80s", dir, name);
  return access(path, F_OK) == 0;
}

static int cgroup_flag(const char *cgroup, const char *key) {
  if (!cgroup[0]) return 0; /* no cgroup: never frozen, nothing to wait for */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%.4000s/cgroup.events", cgroup);
  char *text = read_text(path);
  if (!text) return 0;
  char want[32];
  snprintf(want, sizeof want, "%s 1", key);
  int on = strstr(text, want) != NULL;
  free(text);
  return on;
}

/* the same derivation as src/oci/lifecycle/status.ts */
static const char *status_of(const char *dir, const struct fast *f) {
  if (file_exists(dir, "exit")) return "stopped";
  if (!same_process(f->pid, f->pid_start)) return "stopped";
  if (cgroup_flag(f->cgroup, "frozen")) return "paused";
  return file_exists(dir, "started") ? "running" : "created";
}

static void print_state(const struct fast *f, const char *status) {
  const char *t = f->state_template;
  long pid = strcmp(status, "stopped") == 0 ? 0 : f->pid;
  for (const char *p = t; *p;) {
    if (!strncmp(p, "@@STATUS@@", 10)) { fputs(status, stdout); p += 10; }
    else if (!strncmp(p, "@@PID@@", 7)) { printf("%ld", pid); p += 7; }
    else putchar(*p++);
  }
  putchar('\n');
}

static const struct { const char *name; int sig; } SIGNALS[] = {
  { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL }, { "TRAP", SIGTRAP },
  { "ABRT", SIGABRT }, { "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
  { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
  { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU },
  { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
  { "POLL", SIGPOLL }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

static int parse_signal(const char *s) {
  if (*s >= '0' && *s <= '9') return atoi(s);
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++)
    if (!strcasecmp(s, SIGNALS[i].name)) return SIGNALS[i].sig;
  return -1;
}

/* signal pid only while it is still the process that started at start */
static int signal_process(long pid, long start, int sig) {
  int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) return -1;
  int rc = -1;
  if (proc_start_time(pid) == start) rc = (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
  close(fd);
  return rc;
}

static int cmd_state(const char *dir, const char *id, struct fast *f) {
  (void)id;
  print_state(f, status_of(dir, f));
  return 0;
}

static const char *errno_name(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "unknown errno";
}

static int cmd_start(const char *dir, const char *id, struct fast *f) {
  const char *status = status_of(dir, f);
  if (strcmp(status, "created") != 0) return fail("cannot start a container that is %s", status);
  /* connect relative to the container directory: the full path may exceed 108 bytes */
  if (chdir(dir) < 0) return fail("%s: %s", dir, strerror(errno));
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strcpy(addr.sun_path, "monitor.sock");
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0)
    return fail("the monitor of this container is gone (%s)", errno_name(errno));
  if (write(s, "start\n", 6) != 6) return fail("monitor: %s", strerror(errno));
  char reply[1024];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof reply - 1 && (n = read(s, reply + len, sizeof reply - 1 - len)) > 0) len += (size_t)n;
  reply[len] = 0;
  close(s);
  if (!strncmp(reply, "ok", 2)) return 0;
  /* err\tstep\terrno\tindex\tdetail */
  char *fields[5] = { 0 };
  char *p = reply;
  for (int i = 0; i < 5 && p; i++) {
    fields[i] = p;
    p = i < 4 ? strchr(p, '\t') : NULL;
    if (p) *p++ = 0;
  }
  char *nl = fields[4] ? strchr(fields[4], '\n') : NULL;
  if (nl) *nl = 0;
  if (!fields[1] || !fields[2]) return fail("monitor: unexpected reply");
  const char *step = fields[1], *detail = fields[4] ? fields[4] : "";
  if (!strcmp(step, "start") || !strcmp(step, "protocol")) return fail("cannot start container %s: %s", id, detail);
  if (!strcmp(step, "exec")) return fail("exec \"%s\": %s [process.args[0]]", detail, errno_name(atoi(fields[2])));
  return fail("%s%s%s: %s", step, *detail ? " " : "", detail, errno_name(atoi(fields[2])));
}

static int cmd_kill(const char *dir, const char *id, struct fast *f, const char *sigarg) {
  int sig = parse_signal(sigarg ? sigarg : "TERM");
  if (sig <= 0) return fail("unknown signal \"%s\"", sigarg);
  const char *status = status_of(dir, f);
  /* runc's wording first: containerd's shim looks for "container not running" */
  if (!strcmp(status, "stopped")) return fail("container not running: %s is stopped, nothing to signal", id);
  if (signal_process(f->pid, f->pid_start, sig) < 0) return fail("container not running: %s's process has exited", id);
  return 0;
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* kill everything in the cgroup, wait for it to empty, rmdir bottom-up */
static int remove_cgroup(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  if (cgroup_flag(dir, "populated")) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.4000s/cgroup.kill", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) { (void)!write(fd, "1", 1); close(fd); }
    for (int i = 0; cgroup_flag(dir, "populated"); i++) {
      if (i > 5000) { closedir(d); errno = EBUSY; return -1; }
      sleep_ms(2);
    }
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    char child[PATH_MAX];
    snprintf(child, sizeof child, "%.3800s/%.255s", dir, e->d_name);
    if (remove_cgroup(child) < 0) { closedir(d); return -1; }
  }
  closedir(d);
  for (int i = 0; rmdir(dir) < 0; i++) {
    if (errno == ENOENT) return 0;
    if (errno != EBUSY || i > 500) return -1;
    sleep_ms(2);
  }
  return 0;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
  rmdir(dir);
}

static int cmd_delete(const char *dir, const char *id, struct fast *f, int force) {
  const char *status = status_of(dir, f);
  if ((!strcmp(status, "running") || !strcmp(status, "paused")) && !force)
    return fail("cannot delete container %s that is not stopped: %s", id, status);
  if (!f->cgroup[0]) (void)signal_process(f->pid, f->pid_start, SIGKILL); /* its PID namespace is its own */
  else if (remove_cgroup(f->cgroup) < 0) return fail("removing cgroup %s: %s", f->cgroup, strerror(errno));
  for (int i = 0; i < 2500 && (same_process(f->pid, f->pid_start) || same_process(f->monitor_pid, f->monitor_start)); i++) sleep_ms(2);
  for (int i = f->ncreated - 2; i >= 0; i--)
    if (rmdir(f->created[i]) < 0) break; /* busy with other containers: leave it */
  remove_tree(dir);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%.4000s/containers", g.root);
  if (rmdir(path) == 0) rmdir(g.root);
  return 0;
}

/* runc's rule, and src/oci/container-id.ts's: the id becomes a path
 * component, so letters, digits, "_", "+", "-", "." only, and not "." or "..". */
static int valid_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, "..")) return 0;
  for (const char *p = id; *p; p++) {
    char ch = *p;
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '+' || ch == '-' || ch == '.';
    if (!ok) return 0;
  }
  return 1;
}

/* everything we do not serve goes to the Node CLI, argv unchanged */
static int delegate(char **argv) {
  char exe[PATH_MAX], script[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) return fail("readlink /proc/self/exe: %s", strerror(errno));
  exe[n] = 0;
  /* <repo>/build/Release/podrun-oci -> <repo>/bin/podrun-oci.js */
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
  }
  snprintf(script, sizeof script, "%.4000s/bin/podrun-oci.js", exe);
  int argc = 0;
  while (argv[argc]) argc++;
  char **args = calloc((size_t)argc + 3, sizeof *args);
  /* as bin/podrun's shebang does: node would build its CA store from this at start-up */
  const char *ca = getenv("NODE_EXTRA_CA_CERTS");
  if (ca && *ca) {
    setenv("PODRUN_EXTRA_CA_CERTS", ca, 1);
    unsetenv("NODE_EXTRA_CA_CERTS");
  }
  args[0] = "node";
  args[1] = script;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execvp("node", args);
  return fail("exec node: %s", strerror(errno));
}

int main(int argc, char **argv) {
  int i = 1;
  /* runc's global options come before the command */
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--root") && i + 1 < argc) g.root = argv[++i];
    else if (!strncmp(a, "--root=", 7)) g.root = a + 7;
    else if (!strcmp(a, "--log") && i + 1 < argc) g.log = argv[++i];
    else if (!strncmp(a, "--log=", 6)) g.log = a + 6;
    else if (!strcmp(a, "--log-format") && i + 1 < argc) g.log_format = argv[++i];
    else if (!strncmp(a, "--log-format=", 13)) g.log_format = a + 13;
    else if (!strcmp(a, "--debug")) continue;
    else return delegate(argv); /* --version, --help, --systemd-cgroup, unknown: Node explains */
  }
  if (i >= argc) return delegate(argv);
  if (!g.root) g.root = default_root();
  const char *cmd = argv[i++];
  if (!strcmp(cmd, "create") || !strcmp(cmd, "exec")) {
    int rc = oci_helper(g.root, cmd, argv);
    return rc >= 0 ? rc : delegate(argv);
  }
  int force = 0;
  const char *id = NULL, *extra = NULL;
  int nargs = 0;
  for (; i < argc; i++) {
    if (!strcmp(cmd, "delete") && (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f"))) force = 1;
    else if (argv[i][0] == '-') return delegate(argv);
    else if (nargs++ == 0) id = argv[i];
    else extra = argv[i];
  }
  int known = !strcmp(cmd, "state") || !strcmp(cmd, "start") || !strcmp(cmd, "kill") || !strcmp(cmd, "delete");
  if (!known || !id || (nargs > 1 && strcmp(cmd, "kill") != 0) || nargs > 2) return delegate(argv);
  /* before the id becomes a path; Node checks it for the commands it serves */
  if (!valid_id(id)) return fail("invalid container ID format: \"%s\"", id);
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%.3800s/containers/%.255s", g.root, id);
  struct fast f;
  if (load_fast(dir, &f) < 0) return delegate(argv); /* creating, stale, or not ours: Node decides */
  if ((!strcmp(cmd, "start") && f.start_hooks) || (!strcmp(cmd, "delete") && f.poststop_hooks)) return delegate(argv);
  if (!strcmp(cmd, "state")) return cmd_state(dir, id, &f);
  if (!strcmp(cmd, "start")) return cmd_start(dir, id, &f);
  if (!strcmp(cmd, "kill")) return cmd_kill(dir, id, &f, extra);
  return cmd_delete(dir, id, &f, force);
}
