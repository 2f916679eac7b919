/* Decode the binary launch plan written by src/oci/plan-encode.ts.
 * Format: records of {u16 tag, u16 zero, u32 len, payload[len]}, little endian.
 * Strings are NUL-terminated inside the payload and used in place. */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct reader { const char *p, *end; int bad; };

static uint32_t rd_u32(struct reader *r) {
  uint32_t v = 0;
  if (r->end - r->p < 4) { r->bad = 1; return 0; }
  memcpy(&v, r->p, 4); r->p += 4;
  return v;
}

static uint64_t rd_u64(struct reader *r) {
  uint64_t v = 0;
  if (r->end - r->p < 8) { r->bad = 1; return 0; }
  memcpy(&v, r->p, 8); r->p += 8;
  return v;
}

static const char *rd_str(struct reader *r) {
  const char *s = r->p;
  const char *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
  if (!nul) { r->bad = 1; return ""; }
  r->p = nul + 1;
  return s;
}

#define COUNTED(arr, n) ((arr) = calloc((n) + 1, sizeof *(arr)))

struct counts {
  size_t joins, mounts, devices, symlinks, masked, readonly, sysctls, rlimits;
  size_t arches, rules, gids, argv, envp, dev_rules;
};

static int fail(struct launch_error *err, const char *what, uint32_t tag) {
  err->step = STEP_PLAN; err->err = EINVAL; err->index = -1;
  snprintf(err->detail, sizeof err->detail, "%s (record tag %u)", what, tag);
  return -1;
}

/* First pass: validate framing and count repeated records. */
static int count_records(const char *buf, size_t len, struct counts *c, struct launch_error *err) {
  size_t off = 0;
  memset(c, 0, sizeof *c);
  while (off < len) {
    uint16_t tag; uint32_t rlen;
    if (len - off < 8) return fail(err, "truncated record header", 0);
    memcpy(&tag, buf + off, 2);
    memcpy(&rlen, buf + off + 4, 4);
    if (rlen > len - off - 8) return fail(err, "record overruns plan", tag);
    switch (tag) {
    case T_NS_JOIN: c->joins++; break;
    case T_MOUNT: c->mounts++; break;
    case T_DEVICE: c->devices++; break;
    case T_SYMLINK: c->symlinks++; break;
    case T_MASKED: c->masked++; break;
    case T_READONLY: c->readonly++; break;
    case T_SYSCTL: c->sysctls++; break;
    case T_RLIMIT: c->rlimits++; break;
    case T_SECCOMP_ARCH: c->arches++; break;
    case T_SECCOMP_RULE: c->rules++; break;
    case T_GIDS: c->gids++; break;
    case T_ARG: c->argv++; break;
    case T_ENV: c->envp++; break;
    case T_DEV_RULE: c->dev_rules++; break;
    default: break;
    }
    off += 8 + rlen;
  }
  return 0;
}

static int alloc_arrays(struct launch_plan *p, const struct counts *c) {
  return COUNTED(p->joins, c->joins) && COUNTED(p->mounts, c->mounts) &&
         COUNTED(p->devices, c->devices) && COUNTED(p->symlinks, c->symlinks) &&
         COUNTED(p->masked, c->masked) && COUNTED(p->readonly, c->readonly) &&
         COUNTED(p->sysctls, c->sysctls) && COUNTED(p->rlimits, c->rlimits) &&
         COUNTED(p->sc_arches, c->arches) && COUNTED(p->sc_rules, c->rules) &&
         COUNTED(p->gids, c->gids) && COUNTED(p->argv, c->argv) && COUNTED(p->envp, c->envp) &&
         COUNTED(p->dev_rules, c->dev_rules);
}

static int decode_record(struct launch_plan *p, uint16_t tag, struct reader *r) {
  switch (tag) {
  case T_NEW_NS: p->new_ns = rd_u64(r); break;
  case T_NS_JOIN: {
    struct pr_ns_join *j = &p->joins[p->njoins++];
    j->type = rd_u32(r); j->path = rd_str(r); j->fd = -1;
    break;
  }
  case T_UID_MAP: p->uid_map = rd_str(r); break;
  case T_GID_MAP: p->gid_map = rd_str(r); break;
  case T_CGROUP: p->cgroup = rd_str(r); break;
  case T_ROOTFS: p->rootfs = rd_str(r); break;
  case T_ROOTFS_PARENT: p->rootfs_parent = rd_str(r); break;
  case T_ROOTFS_PROP: p->rootfs_prop = (unsigned long)rd_u64(r); break;
  case T_READONLY_ROOT: p->readonly_root = 1; break;
  case T_NO_PIVOT: p->no_pivot = 1; break;
  case T_MOUNT: {
    struct pr_mount *m = &p->mounts[p->nmounts++];
    m->flags = (unsigned long)rd_u64(r); m->pflags = (unsigned long)rd_u64(r);
    m->kind = rd_u32(r);
    m->idmap = (m->kind & 0x100) != 0;
    m->rattr_set = m->rattr_clr = 0;
    m->kind &= 0xff;
    m->source = rd_str(r); m->destination = rd_str(r); m->type = rd_str(r); m->data = rd_str(r);
    break;
  }
  case T_MOUNT_ATTR:
    if (p->nmounts == 0) return -1; /* names no mount */
    p->mounts[p->nmounts - 1].rattr_set = rd_u64(r);
    p->mounts[p->nmounts - 1].rattr_clr = rd_u64(r);
    break;
  case T_DEVICE: {
    struct pr_device *d = &p->devices[p->ndevices++];
    d->type = rd_u32(r); d->major = rd_u32(r); d->minor = rd_u32(r); d->mode = rd_u32(r);
    d->uid = rd_u32(r); d->gid = rd_u32(r); d->bind = rd_u32(r); d->path = rd_str(r);
    break;
  }
  case T_SYMLINK: {
    struct pr_symlink *s = &p->symlinks[p->nsymlinks++];
    s->target = rd_str(r); s->linkpath = rd_str(r);
    break;
  }
  case T_MASKED: p->masked[p->nmasked++] = rd_str(r); break;
  case T_READONLY: p->readonly[p->nreadonly++] = rd_str(r); break;
  case T_HOSTNAME: p->hostname = rd_str(r); break;
  case T_DOMAINNAME: p->domainname = rd_str(r); break;
  case T_SYSCTL: {
    struct pr_sysctl *s = &p->sysctls[p->nsysctls++];
    s->path = rd_str(r); s->value = rd_str(r);
    break;
  }
  case T_RLIMIT: {
    struct pr_rlimit *l = &p->rlimits[p->nrlimits++];
    l->resource = rd_u32(r); l->soft = rd_u64(r); l->hard = rd_u64(r);
    break;
  }
  case T_OOM_SCORE_ADJ: p->has_oom = 1; p->oom_score_adj = (int32_t)rd_u32(r); break;
  case T_CAPS:
    p->has_caps = 1;
    for (int i = 0; i < 5; i++) p->caps[i] = rd_u64(r);
    break;
  case T_NO_NEW_PRIVS: p->no_new_privs = 1; break;
  case T_SECCOMP: p->has_seccomp = 1; p->sc_default = rd_u32(r); p->sc_flags = rd_u32(r); break;
  case T_SECCOMP_ARCH: p->sc_arches[p->nsc_arches++] = rd_str(r); break;
  case T_SECCOMP_RULE: {
    struct pr_sc_rule *rule = &p->sc_rules[p->nsc_rules++];
    rule->action = rd_u32(r); rule->nargs = rd_u32(r);
    if (rule->nargs > 6) { r->bad = 1; break; }
    rule->args = calloc(rule->nargs + 1, sizeof *rule->args);
    if (!rule->args) { r->bad = 1; break; }
    for (uint32_t i = 0; i < rule->nargs; i++) {
      rule->args[i].index = rd_u32(r); rule->args[i].op = rd_u32(r);
      rule->args[i].value = rd_u64(r); rule->args[i].value2 = rd_u64(r);
    }
    rule->name = rd_str(r);
    break;
  }
  case T_USER: p->has_user = 1; p->uid = rd_u32(r); p->gid = rd_u32(r); break;
  case T_GIDS: p->gids[p->ngids++] = rd_u32(r); break;
  case T_UMASK: p->has_umask = 1; p->umask = rd_u32(r); break;
  case T_CWD: p->cwd = rd_str(r); break;
  case T_ARG: p->argv[p->nargv++] = (char *)rd_str(r); break;
  case T_ENV: p->envp[p->nenvp++] = (char *)rd_str(r); break;
  case T_PRESERVE_FDS: p->preserve_fds = rd_u32(r); break;
  case T_STDIO_FD: p->has_stdio_fd = 1; p->stdio_fd = (int)rd_u32(r); break;
  case T_STDIN_FD: p->has_stdin_fd = 1; p->stdin_fd = (int)rd_u32(r); break;
  case T_STDOUT_FD: p->has_stdout_fd = 1; p->stdout_fd = (int)rd_u32(r); break;
  case T_STDERR_FD: p->has_stderr_fd = 1; p->stderr_fd = (int)rd_u32(r); break;
  case T_WAIT_START: p->wait_start = 1; break;
  case T_HOOK_PAUSE: p->hook_pause = 1; break;
  case T_HOST_MOUNT_NS: p->host_mount_ns = 1; break;
  case T_IDMAP_EXPECT: p->idmap_uid_map = rd_str(r); p->idmap_gid_map = rd_str(r); break;
  case T_DEV_RULE: {
    struct pr_dev_rule *d = &p->dev_rules[p->ndev_rules++];
    d->allow = rd_u32(r); d->type = rd_u32(r);
    d->major = (int64_t)rd_u64(r); d->minor = (int64_t)rd_u64(r);
    d->access = rd_u32(r);
    break;
  }
  case T_CONSOLE:
    p->console_rows = rd_u32(r); p->console_cols = rd_u32(r);
    p->console_socket = rd_str(r);
    break;
  default: return -1;
  }
  return r->bad ? -1 : 0;
}

int plan_decode(const void *data, size_t len, struct launch_plan *p, struct launch_error *err) {
  struct counts c;
  memset(p, 0, sizeof *p);
  memset(err, 0, sizeof *err);
  p->console_fd = -1;
  p->buf = malloc(len ? len : 1);
  if (!p->buf) { err->step = STEP_PLAN; err->err = ENOMEM; err->index = -1; return -1; }
  memcpy(p->buf, data, len);
  p->buf_len = len;
  if (count_records(p->buf, len, &c, err) < 0) goto bad;
  if (!alloc_arrays(p, &c)) { err->step = STEP_PLAN; err->err = ENOMEM; err->index = -1; goto bad; }
  for (size_t off = 0; off < len;) {
    uint16_t tag; uint32_t rlen;
    memcpy(&tag, p->buf + off, 2);
    memcpy(&rlen, p->buf + off + 4, 4);
    struct reader r = { p->buf + off + 8, p->buf + off + 8 + rlen, 0 };
    if (decode_record(p, tag, &r) < 0) { fail(err, "malformed or unknown record", tag); goto bad; }
    off += 8 + rlen;
  }
  if (p->nargv == 0) { fail(err, "plan has no process.args", T_ARG); goto bad; }
  return 0;
bad:
  plan_free(p);
  return -1;
}

void plan_free(struct launch_plan *p) {
  for (size_t i = 0; p->sc_rules && i < p->nsc_rules; i++) free(p->sc_rules[i].args);
  free(p->joins); free(p->mounts); free(p->devices); free(p->symlinks);
  free(p->masked); free(p->readonly); free(p->sysctls); free(p->rlimits);
  free(p->sc_arches); free(p->sc_rules); free(p->gids); free(p->argv); free(p->envp); free(p->dev_rules);
  free(p->bpf.filter);
  free(p->buf);
  memset(p, 0, sizeof *p);
}

int plan_load(int dirfd, const char *path, const char *label, struct launch_plan *plan, struct launch_error *err) {
  int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf = NULL;
  size_t got = 0;
  if (fd >= 0 && fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
    while (got < (size_t)st.st_size) {
      ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
      if (n <= 0) { if (n == 0) errno = EIO; free(buf); buf = NULL; break; }
      got += (size_t)n;
    }
  }
  int e = errno;
  if (fd >= 0) close(fd);
  if (!buf) {
    err->step = STEP_PLAN; err->err = e ? e : ENOMEM; err->index = -1;
    snprintf(err->detail, sizeof err->detail, "%.470s", label);
    return -1;
  }
  int rc = plan_decode(buf, got, plan, err);
  free(buf);
  return rc;
}
