#ifndef PODRUN_EXE_SEAL_H
#define PODRUN_EXE_SEAL_H
/* An fd (close-on-exec) of the executable at path that execveat() can run
 * and that can never be reopened for writing: a private read-only overlayfs
 * view, else a sealed memfd copy. -1 with errno on failure. */
int exe_seal_open(const char *path);
#endif
