/* Event ABI of the signal gadget (bpf/signal.bpf.c), mirrored by Sources/Gadgets/Signal. */
#ifndef SONDE_SIGNAL_H
#define SONDE_SIGNAL_H

#include "sonde/abi.h"

/* enum trace_signal_result of the kernel (include/trace/events/signal.h), plus one of ours. */
enum sonde_signal_result {
    SONDE_SIGNAL_DELIVERED = 0,
    SONDE_SIGNAL_IGNORED = 1,
    SONDE_SIGNAL_ALREADY_PENDING = 2,
    SONDE_SIGNAL_OVERFLOW_FAIL = 3,
    SONDE_SIGNAL_LOSE_INFO = 4,
    SONDE_SIGNAL_SYSCALL_FAILED = 100, /* kill/tkill/tgkill failed before any signal: see error */
};

struct sonde_signal_event {
    struct sonde_event_header hdr; /* the sender */
    __s64 error;       /* -errno of a failed kill/tkill/tgkill, else 0 */
    __s32 sig;
    __s32 code;        /* si_code: SI_USER, SI_TKILL, SI_KERNEL... */
    __s32 target_pid;  /* host tgid; for a failed call the pid as passed (caller's pid namespace) */
    __s32 target_tid;
    __u64 target_cgroup_id;
    __u32 group;       /* sent to the whole thread group */
    __u32 result;      /* enum sonde_signal_result */
    char target_comm[SONDE_COMM_LEN];
};

#endif
