/* Event ABI of the start-up timeline gadget (bpf/startup.bpf.c), mirrored by Sources/Gadgets/Startup. */
#ifndef SONDE_STARTUP_H
#define SONDE_STARTUP_H

#include "sonde/abi.h"

#define SONDE_STARTUP_PATH_LEN 256

/* The milestones, in the order a container normally reaches them. */
enum sonde_startup_step {
    /* A v2 cgroup was made. The header is the creating process (the runtime, on the host);
     * cgroup_id below is the new cgroup, runtime_exec_ns when that process was exec'd. */
    SONDE_STARTUP_CGROUP = 1,
    SONDE_STARTUP_EXEC = 2,   /* first successful exec in the cgroup inside a new mount namespace */
    SONDE_STARTUP_LISTEN = 3, /* first TCP socket of the cgroup put in LISTEN */
    SONDE_STARTUP_ACCEPT = 4, /* first connection accepted (accept/accept4 returned a socket) */
    SONDE_STARTUP_GONE = 5,   /* the cgroup was removed: the container ended */
};

struct sonde_startup_event {
    struct sonde_event_header hdr;
    __u64 cgroup_id;       /* the container's cgroup the milestone belongs to */
    __u64 runtime_exec_ns; /* CGROUP: CLOCK_BOOTTIME of the creator's exec; 0 when it predates sonde */
    __u32 step;            /* enum sonde_startup_step */
    __u32 port;            /* LISTEN, ACCEPT: the local TCP port */
    __u32 peer_port;       /* ACCEPT: the remote port */
    __s32 level;           /* CGROUP: depth below the v2 root */
    char runtime_path[SONDE_STARTUP_PATH_LEN]; /* CGROUP: file the creator exec'd; EXEC: the entrypoint */
    char cgroup_path[SONDE_STARTUP_PATH_LEN];  /* CGROUP, GONE: relative to the v2 root */
};

#endif
