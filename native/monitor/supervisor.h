/* podrun-monitor's supervisor: keeps containers launched from plan files,
 * their CRI logs, exit records and restarts. One container (`container`
 * mode, behind `podrun oci create`) or every container of a pod (`pod`
 * mode: containers are added over the pod's socket). */
#ifndef PODRUN_SUPERVISOR_H
#define PODRUN_SUPERVISOR_H

enum restart_policy { RESTART_NEVER, RESTART_ALWAYS, RESTART_ON_FAILURE };

/* Kubernetes' stdin / stdinOnce: the container's stdin takes what `attach`
 * sends (once: closed when the first attach ends). */
enum stdin_mode { STDIN_NONE, STDIN_OPEN, STDIN_ONCE };

struct ctr_options {
  int keep;             /* stay the container's parent and record its exit */
  const char *log_path; /* CRI log of stdout/stderr (implies keep) */
  long long log_max_size; /* rotate it at this size (0: never; see cri_log.h) */
  int log_max_files;      /* files kept, the current one included */
  enum restart_policy restart;
  long long backoff_ms; /* first restart back-off */
  enum stdin_mode stdin_mode;
};

int parse_restart_policy(const char *s, enum restart_policy *out);

/* The supervisor of one created container in DIR; reports "ok <pid>" (or the
 * launch error, or "hooks <pid>" requests) on report_fd. */
int supervise_container(const char *dir, int report_fd, const struct ctr_options *o);

/* A pod's supervisor serving DIR/monitor.sock, as a process in the cgroup
 * directory given (a child of the caller, who returns 0 at once); writes
 * DIR/monitor.pid and reports "ok <pid>" on report_fd. */
int supervise_pod(const char *dir, int report_fd, const char *cgroup);

#endif
