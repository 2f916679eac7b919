/* This process's user namespace, from /proc/self/uid_map (uid_map.c). */
#pragma once

/* 1 when this is the initial user namespace (the one line "0 0 4294967295"), 0 in another, -1 when the map cannot be
 * read or parsed (each caller picks its safe answer); *host_root, if given, gets the host id uid 0 maps to (0 when
 * unmapped). Uses open/read/close only: async-signal-safe, for the launch child. */
int uid_map_initial(unsigned long *host_root);
