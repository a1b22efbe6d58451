// SPDX-License-Identifier: GPL-2.0
/* advise seccomp-profile: the set of syscalls each selected cgroup makes, kept in the kernel.
 * Thanks to cgroup tracking a new container's cgroup is selected (pending) before its first task
 * joins it, so the set starts at the container's first syscall, runtime setup included. */
#include "sonde/common.h"
#include "sonde/dispatch_consumer.h"
#include "sonde/cgroup_tracking.h"
#include "advise.h"

char LICENSE[] SEC("license") = "GPL";

/* x86 thread_info.status flag set while the task runs an ia32 syscall (arch/x86 thread_info.h). */
#define SONDE_TS_COMPAT 0x0002

/* cgroup v2 id -> syscalls seen. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u64);
    __type(value, struct sonde_syscall_set);
} advise_syscalls SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SONDE_ADVISE_SKIPS);
    __type(key, __u32);
    __type(value, __u64);
} advise_skipped SEC(".maps");

const struct sonde_advise_event *sonde_btf_advise_event __attribute__((unused));

static __always_inline void count_skip(__u32 reason)
{
    __u64 *n = bpf_map_lookup_elem(&advise_skipped, &reason);
    if (n)
        __sync_fetch_and_add(n, 1);
}

static __always_inline void advise_enter(__u64 cgroup, long id)
{
    struct task_struct *task = bpf_get_current_task_btf();
    if (task->thread_info.status & SONDE_TS_COMPAT) {
        count_skip(SONDE_ADVISE_SKIP_COMPAT);
        return;
    }
    if (id < 0 || id >= SONDE_ADVISE_MAX_SYSCALLS) {
        count_skip(SONDE_ADVISE_SKIP_RANGE);
        return;
    }
    struct sonde_syscall_set *set = bpf_map_lookup_elem(&advise_syscalls, &cgroup);
    if (!set) {
        static const struct sonde_syscall_set empty = {};
        bpf_map_update_elem(&advise_syscalls, &cgroup, &empty, BPF_NOEXIST);
        set = bpf_map_lookup_elem(&advise_syscalls, &cgroup);
        if (!set) {
            count_skip(SONDE_ADVISE_SKIP_MAP_FULL);
            return;
        }
    }
    __u32 word = ((__u32)id / 64) & (SONDE_ADVISE_WORDS - 1);
    __u64 bit = 1ULL << ((__u32)id % 64);
    /* The common case: already seen, nothing to write. Two CPUs may both see it unset and both
     * report it; user space takes the union. */
    if (set->bits[word] & bit)
        return;
    __sync_fetch_and_or(&set->bits[word], bit);

    struct sonde_advise_event *e = bpf_ringbuf_reserve(&sonde_events, sizeof(*e), 0);
    if (!e) {
        sonde_count_lost(SONDE_LOST_RINGBUF_FULL);
        return;
    }
    sonde_fill_header(&e->hdr, SONDE_KIND_ADVISE_SYSCALL);
    e->syscall_nr = id;
    e->reserved = 0;
    bpf_ringbuf_submit(e, 0);
}

/* Called by the dispatcher for the calls of selected cgroups (never attached itself). */
SEC("tp_btf/sys_enter")
int BPF_PROG(sonde_advise_enter, struct pt_regs *regs, long id)
{
    struct sonde_dispatch_context *d = sonde_dispatched(SONDE_DISPATCH_ENTER);
    if (!d)
        return 0;
    advise_enter(d->key, id);
    sonde_dispatch_next(ctx, SONDE_DISPATCH_ENTER, d);
    return 0;
}
