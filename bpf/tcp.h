/* Record ABI of trace tcp (bpf/tcp.bpf.c), mirrored by Sources/Gadgets/Tcp/TcpGadget.swift. */
#ifndef SONDE_TCP_H
#define SONDE_TCP_H

#include "sonde/abi.h"


enum sonde_tcp_type {
    SONDE_TCP_CONNECT = 1,
    SONDE_TCP_ACCEPT = 2,
    SONDE_TCP_CLOSE = 3,
};

struct sonde_tcp_event {
    struct sonde_event_header hdr;
    __s64 retval;    /* connect: 0 or -errno (-EINPROGRESS when non-blocking); accept: the new fd */
    __u32 type;      /* enum sonde_tcp_type */
    __u16 family;    /* AF_INET or AF_INET6 */
    __u16 sport;     /* host byte order */
    __u16 dport;
    __u16 reserved;
    __u32 state;     /* close: the TCP state the connection left (ESTABLISHED, TIME_WAIT...) */
    __u8 saddr[16];  /* IPv4: the first 4 bytes */
    __u8 daddr[16];
};

#endif
