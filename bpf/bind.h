/* Event ABI of the bind gadget (bpf/bind.bpf.c), mirrored by Sources/Gadgets/Bind. */
#ifndef SONDE_BIND_H
#define SONDE_BIND_H

#include "sonde/abi.h"

#define SONDE_BIND_ADDR_LEN 128 /* sizeof(struct sockaddr_storage) */

struct sonde_bind_event {
    struct sonde_event_header hdr;
    __s64 ret;          /* 0, or -errno */
    __s32 fd;
    __u32 addrlen;      /* as passed */
    __u16 sock_type;    /* SOCK_STREAM...; 0 when the fd is no socket */
    __u16 protocol;     /* IPPROTO_TCP...; from the socket */
    __u32 copied;       /* bytes of addr read from the caller */
    __u8 addr[SONDE_BIND_ADDR_LEN]; /* the sockaddr as passed */
};

#endif
