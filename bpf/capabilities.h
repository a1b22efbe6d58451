/* Event ABI of the capabilities gadget (bpf/capabilities.bpf.c), mirrored by Sources/Gadgets/Capabilities. */
#ifndef SONDE_CAPABILITIES_H
#define SONDE_CAPABILITIES_H

#include "sonde/abi.h"

struct sonde_capability_event {
    struct sonde_event_header hdr;
    __s32 cap;          /* CAP_* number */
    __s32 ret;          /* 0: granted; -EPERM: refused */
    __s64 syscall_nr;   /* the syscall the task is in; -1 outside one */
    __u64 target_userns;  /* inode number of the user namespace the capability is checked in */
    __u64 capable_userns; /* the namespace where the task was found to hold it (or gave up) */
    __u32 in_init_userns; /* target_userns is the host's (initial) user namespace */
    __u32 pad;
};

#endif
