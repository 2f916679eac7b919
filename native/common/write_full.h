#ifndef PODRUN_WRITE_FULL_H
#define PODRUN_WRITE_FULL_H

#include <stddef.h>

/* Write all of buf: across short writes and EINTR, and on a non-blocking fd
 * waiting (a second at a time) when it would block. 0, or -1 with errno. */
int write_full(int fd, const void *buf, size_t len);

#endif
