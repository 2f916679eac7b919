#ifndef PODRUN_NET_PROBE_H
#define PODRUN_NET_PROBE_H

/* podrun-monitor probe's arguments (after "probe"); see net_probe.c. */
int net_probe_main(int argc, char **argv);

#endif
