/* Record ABI of advise seccomp-profile (bpf/advise.bpf.c), mirrored by Sources/Gadgets/Advise. */
#ifndef SONDE_ADVISE_H
#define SONDE_ADVISE_H

#include "sonde/abi.h"

#define SONDE_ADVISE_MAX_SYSCALLS 1024 /* x86_64 numbers below this are recorded; a multiple of 64 */
#define SONDE_ADVISE_WORDS (SONDE_ADVISE_MAX_SYSCALLS / 64)

/* Calls that cannot go into an x86_64 profile, counted (index: enum sonde_advise_skip). */
enum sonde_advise_skip {
    SONDE_ADVISE_SKIP_COMPAT = 0,  /* an ia32 (32-bit) call: its numbers are another table */
    SONDE_ADVISE_SKIP_RANGE = 1,   /* x32 or out-of-range number */
    SONDE_ADVISE_SKIP_MAP_FULL = 2,/* no room for the cgroup's syscall set */
    SONDE_ADVISE_SKIPS = 3,
};

/* The syscalls a cgroup has made: bit N set once syscall N was entered. */
struct sonde_syscall_set {
    __u64 bits[SONDE_ADVISE_WORDS];
};

/* Sent the first time a cgroup makes a syscall (it tells user space whose cgroup it is; the set in
 * the kernel stays the authority, so a lost record loses no syscall). */
struct sonde_advise_event {
    struct sonde_event_header hdr;
    __u32 syscall_nr;
    __u32 reserved;
};

#endif
