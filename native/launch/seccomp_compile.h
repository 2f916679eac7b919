#ifndef PODRUN_SECCOMP_COMPILE_H
#define PODRUN_SECCOMP_COMPILE_H
#include "launch.h"
/* Build plan->bpf from the plan's seccomp records (parent side). */
int seccomp_compile(struct launch_plan *plan, struct launch_error *err);
#endif
