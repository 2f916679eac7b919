/* Process identity from /proc, shared by podrun-monitor and podrun-oci. */
#pragma once

/* Start time (field 22 of /proc/<pid>/stat, clock ticks since boot) of a
 * live, unreaped process; -1 if it is gone or a zombie. A pid plus this
 * names one process even after the pid is reused. */
long proc_start_time(long pid);
