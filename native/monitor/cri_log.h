/* A container's output written to a CRI-format log file, rotated by size as
 * kubelet rotates it (containerLogMaxSize / containerLogMaxFiles).
 *
 * Rotation renames LOG to LOG.<offset>, where <offset> is how many bytes the
 * container's log held before that file's first byte, counted over every
 * file it ever had. A reader thus finds any byte by one logical offset (what
 * DIR/restarts records for run boundaries) even across rotations, and the
 * names never collide (kubelet's timestamp names would, at ten rotations a
 * second). LOG's own offset is the end of the newest rotated file (0 without
 * one). Only this process writes the files; a file is complete when it is
 * renamed, and always ends with a whole line. */
#ifndef PODRUN_CRI_LOG_H
#define PODRUN_CRI_LOG_H

#include <stddef.h>

struct log_stream {
  const char *name; /* "stdout" / "stderr" */
  int fd;           /* read end of the container's pipe, -1 at EOF */
  size_t len;
  char buf[16384];
};

/* No entry is longer than this (a full buffer, its header and newline):
 * a file of at least twice as much never has to exceed its size limit. */
#define CRI_LOG_MIN_ROTATE_SIZE (2 * (16384 + 128))

/* Whether max_size/max_files can be kept to (0 size: no rotation). */
int cri_log_rotation_valid(long long max_size, int max_files);

struct container_log {
  int fd;              /* -1: no log */
  int dirfd;           /* the log's directory (renames and removals are relative to it) */
  char *name;          /* LOG's name in it */
  long long size;      /* bytes in LOG */
  long long base;      /* logical offset of LOG's first byte */
  long long max_size;  /* 0: never rotated */
  int max_files;       /* LOG and the rotated files kept, at most */
};

/* Open (append to) the log at path; with max_size > 0, rotate before an
 * entry would make LOG larger than max_size, keeping max_files files
 * (max_files >= 2). -1 with errno on failure. */
int container_log_open(struct container_log *l, const char *path, long long max_size, int max_files);
void container_log_close(struct container_log *l);

/* Open LOG's name again (CRI ReopenContainerLog: kubelet renamed the file to
 * rotate it itself): new entries go to a new file there; logical offsets go
 * on from where the old file ended. -1 with errno (the old file is kept). */
int container_log_reopen(struct container_log *l);

/* Where the next entry will start, in logical offsets. */
long long container_log_offset(const struct container_log *l);

/* <RFC3339Nano> <stream> <F|P> <text>\n */
void cri_log_line(struct container_log *l, const char *stream, int full, const char *text, size_t len);

/* Drain a readable stream: every complete line is one F entry; at EOF the
 * rest is written and the stream's fd closed (set to -1). What is read also
 * goes, as it came, to tee_fd when that is not -1 (an attached client; best
 * effort, never blocking). */
void cri_log_pump(struct container_log *l, struct log_stream *ls, int tee_fd);

#endif
