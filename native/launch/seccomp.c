/* Seccomp: the filter is compiled to BPF by libseccomp in the parent (which
 * may allocate); the child only installs the ready program. */
#include "seccomp_compile.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int set_err(struct launch_error *err, int e, int index, const char *what) {
  err->step = STEP_SECCOMP_COMPILE; err->err = e; err->index = index;
  snprintf(err->detail, sizeof err->detail, "%s", what);
  return -1;
}

/* libseccomp 2.5 can only export to an fd: use a memfd and read it back. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *out, struct launch_error *err) {
  int fd = memfd_create("podrun-seccomp", MFD_CLOEXEC);
  if (fd < 0) return set_err(err, errno, -1, "memfd_create");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) { close(fd); return set_err(err, -rc, -1, "seccomp_export_bpf"); }
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(struct sock_filter) != 0) {
    close(fd);
    return set_err(err, EINVAL, -1, "seccomp_export_bpf produced no program");
  }
  struct sock_filter *prog = malloc((size_t)size);
  if (!prog) { close(fd); return set_err(err, ENOMEM, -1, "seccomp program"); }
  if (pread(fd, prog, (size_t)size, 0) != size) {
    int e = errno; free(prog); close(fd);
    return set_err(err, e ? e : EIO, -1, "reading seccomp program");
  }
  close(fd);
  out->len = (unsigned short)(size / sizeof(struct sock_filter));
  out->filter = prog;
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct pr_sc_rule *rule, int index, struct launch_error *err) {
  int nr = seccomp_syscall_resolve_name(rule->name);
  if (nr == __NR_SCMP_ERROR) return 0; /* unknown on this kernel/arch: ignored, as runc does */
  struct scmp_arg_cmp cmp[6];
  for (uint32_t i = 0; i < rule->nargs; i++) {
    cmp[i].arg = rule->args[i].index;
    cmp[i].op = (enum scmp_compare)rule->args[i].op;
    cmp[i].datum_a = rule->args[i].value;
    cmp[i].datum_b = rule->args[i].value2;
  }
  int rc = seccomp_rule_add_array(ctx, rule->action, nr, rule->nargs, cmp);
  if (rc < 0) {
    char what[300];
    snprintf(what, sizeof what, "syscall %s", rule->name);
    return set_err(err, -rc, index, what);
  }
  return 0;
}

int seccomp_compile(struct launch_plan *plan, struct launch_error *err) {
  if (!plan->has_seccomp) return 0;
  scmp_filter_ctx ctx = seccomp_init(plan->sc_default);
  if (!ctx) return set_err(err, EINVAL, -1, "seccomp_init: bad default action");
  int rc;
  /* no_new_privs is the spec's decision (process.noNewPrivileges), not libseccomp's */
  if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0) goto lib_fail;
  for (size_t i = 0; i < plan->nsc_arches; i++) {
    uint32_t arch = seccomp_arch_resolve_name(plan->sc_arches[i]);
    if (!arch) {
      seccomp_release(ctx);
      char what[128];
      snprintf(what, sizeof what, "unknown architecture %s", plan->sc_arches[i]);
      return set_err(err, EINVAL, -1, what);
    }
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) goto lib_fail;
  }
  for (size_t i = 0; i < plan->nsc_rules; i++) {
    /* libseccomp rejects a rule whose action is the default one; it is
     * redundant, so skip it as runc does */
    if (plan->sc_rules[i].action == plan->sc_default) continue;
    if (add_rule(ctx, &plan->sc_rules[i], (int)i, err) < 0) { seccomp_release(ctx); return -1; }
  }
  rc = export_bpf(ctx, &plan->bpf, err);
  seccomp_release(ctx);
  return rc;
lib_fail:
  seccomp_release(ctx);
  return set_err(err, -rc, -1, "libseccomp");
}
