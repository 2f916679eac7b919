#ifndef PODRUN_PORT_FORWARD_H
#define PODRUN_PORT_FORWARD_H

/* podrun-monitor forward NETNS|- PORT: see port_forward.c. */
int port_forward_main(const char *netns, const char *port);

#endif
