/* For objects whose programs the syscall dispatcher calls (see sonde/dispatch.h). A consumer
 * declares its programs with SEC("tp_btf/sys_enter") / SEC("tp_btf/sys_exit") as usual, reads
 * what the dispatcher found with sonde_dispatched(), and ends every run with sonde_dispatch_next()
 * so the consumers after it run too. */
#ifndef SONDE_DISPATCH_CONSUMER_H
#define SONDE_DISPATCH_CONSUMER_H

#include "sonde/dispatch.h"

/* This consumer's slot, set by user space before load. */
const volatile __u32 sonde_dispatch_slot = 0;

static __always_inline struct sonde_dispatch_context *sonde_dispatched(__u32 direction)
{
    return bpf_map_lookup_elem(&sonde_dispatch_context, &direction);
}

/* Runs the consumers after this one that want the call (does not return when there is one). */
static __always_inline void sonde_dispatch_next(void *ctx, __u32 direction, struct sonde_dispatch_context *d)
{
    __u64 later = d->mask & ~((2ULL << (sonde_dispatch_slot & (SONDE_DISPATCH_SLOTS - 1))) - 1);
    if (!later)
        return;
    if (direction == SONDE_DISPATCH_ENTER)
        sonde_dispatch_chain(ctx, &sonde_dispatch_enter_progs, later);
    else
        sonde_dispatch_chain(ctx, &sonde_dispatch_exit_progs, later);
}

/* The call's time (CLOCK_BOOTTIME), one clock read shared by every consumer of the call: with
 * this kernel's mitigations a helper call costs tens of nanoseconds. */
static __always_inline __u64 sonde_dispatch_now(struct sonde_dispatch_context *d)
{
    if (!d->now_ns)
        d->now_ns = bpf_ktime_get_boot_ns();
    return d->now_ns;
}

/* This consumer's bit, for sonde_dispatch_want. */
static __always_inline __u64 sonde_dispatch_bit(void)
{
    return 1ULL << (sonde_dispatch_slot & (SONDE_DISPATCH_SLOTS - 1));
}

#endif
