/* Event ABI of the ptrace gadget (bpf/ptrace.bpf.c), mirrored by Sources/Gadgets/Ptrace. */
#ifndef SONDE_PTRACE_H
#define SONDE_PTRACE_H

#include "sonde/abi.h"

struct sonde_ptrace_event {
    struct sonde_event_header hdr; /* the tracer */
    __s64 retval;     /* 0 (or the word read by PEEK*), or -errno */
    __s64 request;    /* PTRACE_ATTACH, PTRACE_PEEKDATA... */
    __s64 target_pid; /* as passed: a pid of the caller's pid namespace */
    __u64 addr;
    __u64 data;
};

#endif
