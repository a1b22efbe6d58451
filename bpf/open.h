/* Event ABI of the open gadget (bpf/open.bpf.c), mirrored by Sources/Gadgets/Open. */
#ifndef SONDE_OPEN_H
#define SONDE_OPEN_H

#include "sonde/abi.h"

#define SONDE_OPEN_PATH_LEN 256

enum sonde_open_flags {
    SONDE_OPEN_PATH_TRUNCATED = 1 << 0,
    SONDE_OPEN_PATH_FAULT = 1 << 1, /* the path could not be read from the caller's memory */
};

struct sonde_open_event {
    struct sonde_event_header hdr;
    __s64 ret;         /* the new fd, or -errno */
    __u64 flags;       /* O_* as passed (open_how.flags for openat2) */
    __u32 mode;        /* as passed; meaningful with O_CREAT or O_TMPFILE */
    __u32 syscall_nr;
    __s32 dirfd;       /* AT_FDCWD (-100) for open */
    __u32 event_flags; /* enum sonde_open_flags */
    char path[SONDE_OPEN_PATH_LEN];
};

#endif
