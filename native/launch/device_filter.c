/* cgroup v2 device controller: OCI device rules compiled to a
 * BPF_PROG_TYPE_CGROUP_DEVICE program and attached to the container's cgroup
 * in the parent, before clone (the process is born into the filtered cgroup).
 * Rules are matched last-to-first (the last matching rule wins, as in cgroup
 * v1); a request no rule matches is allowed, so specs start with a deny-all. */
#include "device_filter.h"

#include <errno.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* r1 = ctx {u32 access_type (access << 16 | type), u32 major, u32 minor} */
enum { R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6 };

static size_t rule_len(const struct pr_dev_rule *r) {
  size_t n = 2; /* mov r0, exit */
  if (r->type) n++;
  if (r->access != 7) n += 3; /* mov r6 = r3; and r6, ~access; jne r6, 0 */
  if (r->major >= 0) n++;
  if (r->minor >= 0) n++;
  return n;
}

static int compile(const struct launch_plan *p, struct bpf_insn **out, size_t *count) {
  size_t n = 6 + 2;
  for (size_t i = 0; i < p->ndev_rules; i++) n += rule_len(&p->dev_rules[i]);
  struct bpf_insn *prog = calloc(n, sizeof *prog);
  if (!prog) return -1;
  size_t k = 0;
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0);  /* access_type */
  prog[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, R3, R2, 0, 0);  /* access = access_type >> 16 */
  prog[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16);
  prog[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xffff); /* type */
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0);  /* major */
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0);  /* minor */
  for (size_t idx = p->ndev_rules; idx-- > 0;) {
    const struct pr_dev_rule *r = &p->dev_rules[idx];
    size_t len = rule_len(r);
    size_t end = k + len; /* first insn of the next block */
    #define SKIP() ((short)(end - (k + 1)))
    if (r->type) { prog[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, R2, 0, 0, (int)r->type); prog[k].off = SKIP(); k++; }
    if (r->access != 7) {
      prog[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, R6, R3, 0, 0);
      prog[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, R6, 0, 0, (int)(~r->access & 7));
      prog[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, R6, 0, 0, 0); prog[k].off = SKIP(); k++;
    }
    if (r->major >= 0) { prog[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, (int)r->major); prog[k].off = SKIP(); k++; }
    if (r->minor >= 0) { prog[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, (int)r->minor); prog[k].off = SKIP(); k++; }
    #undef SKIP
    prog[k++] = INSN(BPF_ALU | BPF_MOV | BPF_K, R0, 0, 0, r->allow ? 1 : 0);
    prog[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    /* a rule matching everything ends the program: what follows would be
     * unreachable, which the verifier refuses */
    if (len == 2) { *out = prog; *count = k; return 0; }
  }
  prog[k++] = INSN(BPF_ALU | BPF_MOV | BPF_K, R0, 0, 0, 1); /* no rule matched: allowed */
  prog[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  *out = prog;
  *count = k;
  return 0;
}

/* BPF_PROG_LOAD of a device program, with the verifier's log in log (NULL: none). */
static int prog_load(const struct bpf_insn *prog, size_t n, char *log, size_t log_size) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)n;
  attr.license = (uint64_t)(uintptr_t)"GPL";
  if (log) {
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = (uint32_t)log_size;
    attr.log_level = 1;
  }
  /* the verifier gives up with EAGAIN when a signal is pending (a profiler's
   * SIGPROF, say): block them while it runs, and retry as libbpf does */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int fd = -1;
  for (int attempt = 0; attempt < 5; attempt++) {
    fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return fd;
}

int device_filter_attach(const struct launch_plan *p, int cgroup_fd, struct launch_error *err) {
  if (!p->ndev_rules) return 0;
  struct bpf_insn *prog;
  size_t n;
  if (compile(p, &prog, &n) < 0) goto nomem;
  /* without a log first: a verifier log too small for a long rule list
   * (privileged containers have hundreds) fails the load with ENOSPC. Only a
   * load that fails is repeated with a log large enough to say why. */
  int prog_fd = prog_load(prog, n, NULL, 0);
  if (prog_fd < 0) {
    int load_errno = errno;
    size_t cap = 1 << 20;
    char *vlog = malloc(cap);
    if (vlog) {
      vlog[0] = 0;
      (void)prog_load(prog, n, vlog, cap);
    }
    free(prog);
    err->step = STEP_DEVICE_CGROUP; err->err = load_errno; err->index = -1;
    /* the verifier's last words say why */
    size_t len = vlog ? strnlen(vlog, cap - 1) : 0;
    while (len && vlog[len - 1] == '\n') vlog[--len] = 0;
    const char *tail = !vlog ? "" : len > 400 ? vlog + len - 400 : vlog;
    snprintf(err->detail, sizeof err->detail, "BPF_PROG_LOAD %s", tail);
    free(vlog);
    return -1;
  }
  free(prog);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
  int e = errno;
  close(prog_fd); /* the attachment holds its own reference */
  if (rc < 0) {
    err->step = STEP_DEVICE_CGROUP; err->err = e; err->index = -1;
    strcpy(err->detail, "BPF_PROG_ATTACH");
    return -1;
  }
  return 0;
nomem:
  err->step = STEP_DEVICE_CGROUP; err->err = ENOMEM; err->index = -1;
  strcpy(err->detail, "device filter");
  return -1;
}
