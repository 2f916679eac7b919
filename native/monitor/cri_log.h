/* A container output stream written to a CRI-format log file: no allocation
 * per line, a fixed buffer; a line longer than it becomes partial pieces. */
#ifndef PODRUN_CRI_LOG_H
#define PODRUN_CRI_LOG_H

#include <stddef.h>

struct log_stream {
  const char *name; /* "stdout" / "stderr" */
  int fd;           /* read end of the container's pipe, -1 at EOF */
  size_t len;
  char buf[16384];
};

/* <RFC3339Nano> <stream> <F|P> <text>\n */
void cri_log_line(int log_fd, const char *stream, int full, const char *text, size_t len);

/* Drain a readable stream: every complete line is one F entry; at EOF the
 * rest is written and the stream's fd closed (set to -1). What is read also
 * goes, as it came, to tee_fd when that is not -1 (an attached client; best
 * effort, never blocking). */
void cri_log_pump(int log_fd, struct log_stream *ls, int tee_fd);

#endif
