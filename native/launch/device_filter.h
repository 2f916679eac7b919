#ifndef PODRUN_DEVICE_FILTER_H
#define PODRUN_DEVICE_FILTER_H
#include "launch.h"
/* Compile plan->dev_rules and attach them to the cgroup (parent side). */
int device_filter_attach(const struct launch_plan *plan, int cgroup_fd, struct launch_error *err);
#endif
