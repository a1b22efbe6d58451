/* Map ABI of top tcp (bpf/toptcp.bpf.c), mirrored by Sources/Gadgets/Top/TopTcpGadget.swift.
 * The kernel aggregates, user space reads and empties the map each interval. */
#ifndef SONDE_TOPTCP_H
#define SONDE_TOPTCP_H

#include "sonde/abi.h"

/* One connection (its struct sock) as used by one process. */
struct sonde_toptcp_key {
    __u64 cgroup_id;
    __u64 sock;      /* the struct sock's address: identifies the connection while it lives */
    __u32 pid;       /* tgid */
    __u32 reserved;
};

/* Both ends of a connection. */
struct sonde_toptcp_endpoints {
    __u16 family;    /* AF_INET or AF_INET6 */
    __u16 sport;     /* host byte order */
    __u16 dport;
    __u16 reserved;
    __u8 saddr[16];  /* IPv4: the first 4 bytes */
    __u8 daddr[16];
};

struct sonde_toptcp_value {
    __u64 sent;      /* bytes */
    __u64 received;
    __u64 sends;     /* calls */
    __u64 receives;
    __u64 mntns_id;
    __u32 tid;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    char comm[SONDE_COMM_LEN];
    struct sonde_toptcp_endpoints ends;
};

#endif
